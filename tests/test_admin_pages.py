"""Administration, lists and the audit trail in the portal, over real HTTP on loopback: users,
one's own password, the unit directory, the notifications page, the trail in words and its
exports."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine
from sqlmodel import col, func, select

from models.audit import AuditEvent
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.notification import Notification, NotificationStatus
from models.unit import Contact, Unit
from models.user import User, WebSession
from tests.support.hostile import STORABLE, formula_cells, injected_markup_in, marker_of
from tests.support.portal import PASSWORD, Portal, csrf_of, serve_seeded, sign_in
from web.lists import content_disposition


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=1)


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with reading(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def user_id(engine: Engine, username: str) -> int:
    with reading(engine) as session:
        return session.exec(select(User.id).where(User.username == username)).one()


def test_a_chinese_file_name_travels_as_rfc_5987_with_an_ascii_fallback() -> None:
    # 审 E5 AE A1, 计 E8 AE A1, 记 E8 AE B0, 录 E5 BD 95 (UTF-8, by hand).
    assert content_disposition("审计记录.xlsx") == (
        'attachment; filename="____.xlsx"; '
        "filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E8%AE%B0%E5%BD%95.xlsx"
    )


def test_the_admin_adds_a_user_who_then_signs_in_and_disabling_them_ends_their_session(
    portal: Portal,
) -> None:
    with portal.login("office") as office:
        page = office.get("/users").text
        added = office.post(
            "/users",
            data={
                "csrf": csrf_of(page),
                "username": "zhangsan",
                "display_name": "张三",
                "role": "unit",
                "unit": "市民政局",
                "email": "",
                "password": "zhangsan-pass-1",
            },
        )
        assert added.status_code == 303
        with portal.client() as zhang:
            assert sign_in(zhang, "zhangsan", "zhangsan-pass-1").status_code == 303
            inbox = zhang.get("/inbox")
            assert inbox.status_code == 200
            # The header greets the person by name, not by the login name.
            assert '<span class="who">张三（单位联络员）</span>' in inbox.text
            uid = user_id(portal.engine, "zhangsan")
            detail = office.get(f"/users/{uid}").text
            assert "单位联络员" in detail and "市民政局" in detail
            disabled = office.post(f"/users/{uid}/disable", data={"csrf": csrf_of(detail)})
            assert disabled.status_code == 303
            # The open session is over: the next page asks for a login again.
            assert zhang.get("/inbox").status_code == 303
            assert sign_in(zhang, "zhangsan", "zhangsan-pass-1").status_code != 303
    (created,) = events(portal.engine, "user.create")[-1:]
    (event,) = events(portal.engine, "user.disable")
    assert created.actor == "office" and json.loads(created.after)["unit"] == "市民政局"
    assert json.loads(event.before) == {"disabled": False}
    assert json.loads(event.after) == {"disabled": True}
    with reading(portal.engine) as session:
        live = session.exec(
            select(func.count())
            .select_from(WebSession)
            .where(WebSession.user_id == uid, col(WebSession.ended_at).is_(None))
        ).one()
    assert live == 0


def test_the_admin_changes_a_role_and_resets_a_password_each_with_one_event(
    portal: Portal,
) -> None:
    uid = user_id(portal.engine, "staff")
    with portal.login("office") as office:
        detail = office.get(f"/users/{uid}").text
        changed = office.post(
            f"/users/{uid}/role", data={"csrf": csrf_of(detail), "role": "leader", "unit": ""}
        )
        assert changed.status_code == 303
        assert "角色已变更" in office.get(changed.headers["location"]).text
        reset = office.post(
            f"/users/{uid}/password", data={"csrf": csrf_of(detail), "password": "short"}
        )
        assert reset.status_code == 422 and "密码至少10位" in reset.text
        reset = office.post(
            f"/users/{uid}/password",
            data={"csrf": csrf_of(detail), "password": "new-staff-password"},
        )
        assert reset.status_code == 303
        own = office.get(f"/users/{user_id(portal.engine, 'office')}").text
        assert "不能在此变更自己的角色" in own
    (role,) = events(portal.engine, "user.role")
    assert json.loads(role.before) == {"role": "office_staff", "unit": None}
    assert json.loads(role.after) == {"role": "leader", "unit": None}
    assert len(events(portal.engine, "user.password")) == 1
    with portal.client() as staff:
        assert sign_in(staff, "staff", PASSWORD).status_code != 303
        assert sign_in(staff, "staff", "new-staff-password").status_code == 303
        assert staff.get("/dashboard").status_code == 200  # a leader reads the dashboard
        assert staff.get("/review").status_code == 403  # and no longer reviews


def test_only_the_office_admin_manages_users_and_staff_read_the_directory_without_editing(
    portal: Portal,
) -> None:
    for username in ("staff", "edu", "leader", "auditor"):
        with portal.login(username) as someone:
            assert someone.get("/users").status_code == 403, username
            assert someone.get("/units/1").status_code == 403, username
    with portal.login("staff") as staff:
        listing = staff.get("/units").text
        assert "市教育局" in listing and "修改</a>" not in listing
        assert staff.post("/units/1", data={"csrf": csrf_of(listing)}).status_code == 403


def test_everyone_changes_their_own_password_only_with_the_current_one(portal: Portal) -> None:
    with portal.login("edu") as edu:
        form = edu.get("/account/password").text
        wrong = edu.post(
            "/account/password",
            data={
                "csrf": csrf_of(form),
                "current": "not-the-password",
                "new": "a-new-password-1",
                "again": "a-new-password-1",
            },
        )
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
        mismatch = edu.post(
            "/account/password",
            data={
                "csrf": csrf_of(form),
                "current": PASSWORD,
                "new": "a-new-password-1",
                "again": "a-new-password-2",
            },
        )
        assert mismatch.status_code == 422 and "两次输入的新密码不一致" in mismatch.text
        assert events(portal.engine, "user.password") == []
        done = edu.post(
            "/account/password",
            data={
                "csrf": csrf_of(form),
                "current": PASSWORD,
                "new": "a-new-password-1",
                "again": "a-new-password-1",
            },
        )
        assert done.status_code == 200 and "密码已修改" in done.text
        assert edu.get("/inbox").status_code == 303  # signed out everywhere, here too
    with portal.client() as again:
        assert sign_in(again, "edu", PASSWORD).status_code != 303
        assert sign_in(again, "edu", "a-new-password-1").status_code == 303
    (event,) = events(portal.engine, "user.password")
    assert event.actor == "edu"


def test_the_unit_form_refuses_what_the_directory_import_refuses_and_saves_the_rest(
    portal: Portal,
) -> None:
    with reading(portal.engine) as session:
        edu = session.exec(select(Unit).where(Unit.name == "市教育局")).one()
    with portal.login("office") as office:
        form = office.get(f"/units/{edu.id}").text
        fields = {
            "csrf": csrf_of(form),
            "kind": "department",
            "aliases": "教育局、市教体局",
            "members": "",
            "liaison_name": "李老师",
            "liaison_email": "张三@example.cn",  # needs SMTPUTF8: the import refuses it
            "liaison_phone": "0513-87000000",
            "head_name": "",
            "head_email": "",
            "head_phone": "",
        }
        refused = office.post(f"/units/{edu.id}", data=fields)
        assert refused.status_code == 422
        assert "市教育局 的联络员邮箱“张三@example.cn”无效" in refused.text
        assert "李老师" in refused.text  # what was typed is kept
        taken = office.post(f"/units/{edu.id}", data=fields | {"aliases": "市公安局"})
        assert taken.status_code == 422 and "市公安局" in taken.text
        unknown = office.post(f"/units/{edu.id}", data=fields | {"members": "不存在的单位"})
        assert unknown.status_code == 422 and "“不存在的单位”不在通讯录中" in unknown.text
        before = len(events(portal.engine, "unit.update"))
        assert before == 0
        saved = office.post(f"/units/{edu.id}", data=fields | {"liaison_email": "li@example.cn"})
        assert saved.status_code == 303
        assert "已保存" in office.get(saved.headers["location"]).text
        again = office.post(f"/units/{edu.id}", data=fields | {"liaison_email": "li@example.cn"})
        assert "没有改动" in office.get(again.headers["location"]).text
    (event,) = events(portal.engine, "unit.update")
    assert json.loads(event.after)["contacts"]["liaison"] == {
        "name": "李老师",
        "email": "li@example.cn",
        "phone": "0513-87000000",
        "mobile": None,  # the directory's channel fields, none typed here
        "channels": [],
    }
    assert json.loads(event.after)["aliases"] == ["市教体局", "教育局"]
    with reading(portal.engine) as session:
        liaisons = session.exec(
            select(Contact).where(Contact.unit_id == edu.id, Contact.role == "liaison")
        ).all()
    assert [c.email for c in liaisons] == ["li@example.cn"]


def _message(session, n: int, status: NotificationStatus, **extra) -> None:
    session.add(
        Notification(
            dedup_key=f"test-{n}",
            kind="reminder",
            unit_id=extra.pop("unit_id", None),
            recipient_name=f"收件人{n}",
            recipient_email=f"r{n}@example.cn",
            subject=f"主题{n}",
            status=status,
            next_attempt_at=utc_now(),
            created_at=utc_now() - timedelta(minutes=n),
            **extra,
        )
    )


def test_the_notifications_page_lists_every_status_and_filters_by_status_unit_and_kind(
    portal: Portal,
) -> None:
    with unit_of_work(portal.engine) as session:
        session.exec(Notification.__table__.delete())  # only this test's messages
        unit = session.exec(select(Unit).where(Unit.name == "市公安局")).one()
        _message(session, 1, NotificationStatus.PENDING)
        _message(session, 2, NotificationStatus.PENDING, last_error="421 try later")
        _message(session, 3, NotificationStatus.SENT, sent_at=utc_now(), unit_id=unit.id)
        _message(session, 4, NotificationStatus.SENT, sent_at=utc_now(), maybe_sent=1)
        _message(session, 5, NotificationStatus.DEAD, last_error="550 no such user")
    with portal.login("office") as office:
        everything = office.get("/notifications").text
        for words in ("待发送", "等待重试", "已发送", "可能已送达", "发送失败（已放弃）"):
            assert f"<b>{words}</b>" in everything, words
        assert "第1页/共1页，共 5 条" in everything

        def shown(**params: str) -> list[str]:
            html = office.get("/notifications", params=params).text
            return re.findall(r"<p>(主题\d)</p>", html)

        assert shown(status="pending") == ["主题1"]
        assert shown(status="retrying") == ["主题2"]
        assert shown(status="sent") == ["主题3"]
        assert shown(status="maybe_sent") == ["主题4"]
        assert shown(status="dead") == ["主题5"]
        assert shown(unit=str(unit.id)) == ["主题3"]
        assert shown(kind="reminder") == [
            "主题5",
            "主题4",
            "主题3",
            "主题2",
            "主题1",
        ]  # newest first
        assert shown(kind="overdue") == []
        bad = office.get("/notifications", params={"status": "<b>x</b>"})
        assert bad.status_code == 422 and "<b>x</b>" not in bad.text
        exported = office.get("/notifications/export", params={"status": "dead"})
    assert exported.headers["content-disposition"].endswith(
        "%E9%80%9A%E7%9F%A5%E6%B6%88%E6%81%AF.xlsx"  # 通知消息
    )
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:2] == ["编号", "类型"] and len(values) == 2
    assert values[1][5:7] == ["主题5", "发送失败（已放弃）"]


def test_lists_go_fifty_a_page_with_chinese_links_that_keep_the_filter(portal: Portal) -> None:
    with unit_of_work(portal.engine) as session:
        session.exec(Notification.__table__.delete())
        for n in range(1, 121):  # 120 dead letters: three pages, the last with 20
            _message(session, n, NotificationStatus.DEAD)
        _message(session, 500, NotificationStatus.SENT)
    with portal.login("office") as office:
        first = office.get("/notifications", params={"status": "dead"}).text
        assert "第1页/共3页，共 120 条" in first and 'rel="prev"' not in first
        second = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', first).group(1)
        assert "status=dead" in second
        page2 = office.get(second.replace("&amp;", "&")).text
        assert "第2页/共3页" in page2 and ">上一页</a>" in page2
        last = office.get("/notifications", params={"status": "dead", "page_no": 3}).text
        assert len(re.findall(r"data-notification=", last)) == 20 and 'rel="next"' not in last


def test_the_trail_reads_in_words_with_before_and_after_and_exports_with_chinese_headers(
    portal: Portal,
) -> None:
    uid = user_id(portal.engine, "staff")
    with portal.login("office") as office:
        detail = office.get(f"/users/{uid}").text
        office.post(f"/users/{uid}/disable", data={"csrf": csrf_of(detail)})
    with portal.login("auditor") as auditor:
        page = auditor.get("/audit", params={"action": "user.disable"}).text
        assert "<strong>停用用户</strong> · 用户 " + str(uid) in page
        assert "停用：否 → 是" in page and "user.disable</" not in page
        one = auditor.get("/audit", params={"object_type": "user", "object_id": str(uid)}).text
        assert len(re.findall(r"<li data-seq=", one)) == 2  # created, disabled
        verified = auditor.get("/audit/verify").text
        assert "审计链完整：共" in verified
        csv_file = auditor.get("/audit/export", params={"format": "csv", "action": "user.disable"})
        jsonl = auditor.get("/audit/export", params={"format": "jsonl", "action": "user.disable"})
        xlsx = auditor.get("/audit/export", params={"format": "xlsx", "action": "user.disable"})
        refused = auditor.get("/audit/export", params={"format": "exe"})
        empty = auditor.get("/audit", params={"since": "2099-01-01"}).text
    assert csv_file.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert table[0] == [
        "序号",
        "时间",
        "操作人",
        "做了什么",
        "对象",
        "结果",
        "原因",
        "变更前",
        "变更后",
    ]
    assert table[1][2:5] == ["office", "停用用户", f"用户 {uid}"] and table[1][7:] == [
        "停用：否",
        "停用：是",
    ]
    (line,) = jsonl.text.splitlines()
    assert json.loads(line)["做了什么"] == "停用用户"
    assert (
        "filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E8%AE%B0%E5%BD%95.csv"
        in csv_file.headers["content-disposition"]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:4] == ["序号", "时间", "操作人", "做了什么"]
    assert refused.status_code == 422 and "导出格式" in refused.text
    assert "没有符合条件的记录" in empty


def test_hostile_values_in_users_units_and_filters_come_out_escaped_and_never_as_formulas(
    portal: Portal,
) -> None:
    with reading(portal.engine) as session:
        edu = session.exec(select(Unit).where(Unit.name == "市教育局")).one()
    with portal.login("office") as office:
        page = office.get("/users").text
        for value in STORABLE:
            added = office.post(
                "/users",
                data={
                    "csrf": csrf_of(page),
                    "username": value[:100],
                    "display_name": value,
                    "role": "leader",
                    "unit": "",
                    "password": "hostile-pass-" + marker_of(value),
                },
            )
            assert added.status_code in (303, 422), (value, added.status_code)
            assert injected_markup_in(added.text) == []
            saved = office.post(
                f"/units/{edu.id}",
                data={
                    "csrf": csrf_of(page),
                    "kind": "department",
                    "aliases": "",
                    "members": "",
                    "liaison_name": value,
                    "liaison_email": "",
                    "liaison_phone": value[:40],
                    "head_name": "",
                    "head_email": "",
                    "head_phone": "",
                },
            )
            assert saved.status_code in (303, 422), (value, saved.status_code)
            assert injected_markup_in(saved.text) == []
            for path, name in (("/users", "q"), ("/units", "q"), ("/audit", "actor")):
                found = office.get(path, params={name: value[:200]})
                assert found.status_code in (200, 422) and injected_markup_in(found.text) == []
        listing = office.get("/users", params={"role": "leader"})
        assert injected_markup_in(listing.text) == []
        users_xlsx = office.get("/users/export", params={"role": "leader"})
        audit_csv = office.get("/audit/export", params={"format": "csv", "action": "user.create"})
        audit_xlsx = office.get("/audit/export", params={"format": "xlsx"})
    with reading(portal.engine) as session:
        hostile_users = session.exec(
            select(func.count()).select_from(User).where(col(User.display_name).contains("HX"))
        ).one()
    assert hostile_users >= 10  # most of the corpus is a legal name and was stored as typed
    for response in (users_xlsx, audit_xlsx):
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        cells = [c.value for row in book.active.iter_rows() for c in row]
        assert formula_cells(cells) == [] and all(
            c.data_type != "f" for r in book.active for c in r
        )
    names = [c.value for c in openpyxl.load_workbook(io.BytesIO(users_xlsx.content)).active["A"]]
    assert '\'=HYPERLINK("http://elsewhere.example/HX6","点击")' in names
    rows = list(csv.reader(io.StringIO(audit_csv.content.decode("utf-8-sig"))))
    assert formula_cells([cell for row in rows for cell in row]) == []


def test_saving_a_unit_in_the_browser_keeps_its_robot_and_its_liaison_channels(
    portal: Portal,
) -> None:
    # A robot key is never shown back in the form; a field left empty keeps what the directory has.
    key = "0f5c2a7e-1b2c-4d3e-8f90-123456789abc"
    with unit_of_work(portal.engine) as session:
        edu = session.exec(select(Unit).where(Unit.name == "市教育局")).one()
        edu.wecom_key = key
        liaison = session.exec(
            select(Contact).where(Contact.unit_id == edu.id, Contact.role == "liaison")
        ).one()
        liaison.mobile = "13800138000"
        liaison.channels = ["wecom", "email"]
        session.add_all([edu, liaison])
        edu_id = edu.id
    with portal.login("office") as office:
        form = office.get(f"/units/{edu_id}").text
        assert key not in form
        assert "企业微信机器人 key（已设置）" in form
        assert 'value="企业微信、邮件"' in form and 'value="13800138000"' in form
        fields = dict(re.findall(r'<input name="([a-z_]+)" value="([^"]*)"', form))
        fields |= {"csrf": csrf_of(form), "kind": "department", "liaison_phone": "0513-1"}
        saved = office.post(f"/units/{edu_id}", data=fields)
        assert saved.status_code == 303, saved.text[-400:]
    with reading(portal.engine) as session:
        edu = session.get_one(Unit, edu_id)
        liaison = session.exec(
            select(Contact).where(Contact.unit_id == edu_id, Contact.role == "liaison")
        ).one()
    assert edu.wecom_key == key
    assert (liaison.phone, liaison.mobile, list(liaison.channels)) == (
        "0513-1",
        "13800138000",
        ["wecom", "email"],
    )
