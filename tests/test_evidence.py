"""Evidence files: written only once the filing is checked, within each unit's quota, orphans
pruned; GBK text; a file with no preview shown as a row (type, size, link), a PDF that cannot be
rendered tried once."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import docx
import pytest
from markupsafe import escape
from sqlalchemy import Engine
from sqlmodel import select

from config import Settings
from models.db import reading, unit_of_work
from models.evidence import Upload, described, prune_orphans, store
from models.round import CheckIn
from models.rounds import open_round as open_scenario_round
from tests.support import evidence_files, scenario
from tests.support.cli import duban
from tests.support.hostile import HOSTILE, injected_markup_in
from tests.support.portal import Portal, csrf_of, open_round, running, seed

# 抽检报告 as Chinese Windows' Notepad saves it (GBK): a line is 18 two-byte characters and 9 ASCII
# bytes, 45 bytes; 800 lines are 36,000 bytes. The other file's line is 20 x 2 + 4 = 44 bytes:
# 35,200.
GBK_REPORT = ("抽检报告：校园食堂抽检120批次，合格率100%。\r\n" * 800).encode("gbk")
OTHER_GBK = ("整改台账：共排查问题隐患30处，已整改完毕。\r\n" * 800).encode("gbk")
QUOTA_MB = (
    0.1  # 104,857 bytes (102 KB): two reports of 36,000 and 36,800 fit (71 KB), 35,200 more do not
)


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path):
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        dev_mode=True,
        upload_max_mb=0.5,
        evidence_quota_mb=QUOTA_MB,
    )
    with running(settings, engine) as found:
        yield found


def stored_files(portal: Portal) -> dict[str, bytes]:
    folder = portal.settings.home / "evidence"
    return (
        {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        if folder.exists()
        else {}
    )


def file_checkin(
    client,
    own: int,
    text: str,
    *files: tuple[str, bytes],
    completed: bool = False,
    media="text/plain",
):
    data = {"csrf": csrf_of(client.get(f"/assignments/{own}").text), "text": text}
    if completed:
        data["completed"] = "on"
    return client.post(
        f"/assignments/{own}/checkins",
        data=data,
        files=[("evidence", (name, content, media)) for name, content in files],
    )


def docx_of(size: int) -> bytes:
    """A real Word document (python-docx) padded to exactly `size` bytes with a zip comment."""
    document = docx.Document()
    document.add_paragraph("整改台账：共排查问题隐患30处，已整改完毕。")
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.comment = b" " * (size - len(buffer.getvalue()))
    assert len(buffer.getvalue()) == size
    return buffer.getvalue()


def rows_of(page: str) -> list[tuple[str, str, str, str]]:
    """Each no-preview row on a page: (type, size, link, name as the page writes it)."""
    return re.findall(
        r'<figure class="evidence evidence-file">\s*<figcaption>'
        r'<span class="file-type">(.*?)</span> <span class="file-size">(.*?)</span> '
        r'<a href="(/evidence/\d+/[0-9a-f]{64})">(.*?)</a>'
        r"</figcaption>",
        page,
        re.S,
    )


def test_a_gbk_text_file_is_accepted_and_served_back_as_it_was(portal: Portal) -> None:
    assert (len(GBK_REPORT), len(OTHER_GBK)) == (36_000, 35_200)
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        assert (
            file_checkin(market, own, "抽检完成", ("抽检报告.txt", GBK_REPORT)).status_code == 303
        )
        page = market.get(f"/assignments/{own}").text
        download = market.get("/evidence/" + page.split("/evidence/")[1].split('"')[0])
    assert download.status_code == 200 and download.content == GBK_REPORT
    assert download.headers["content-type"].lower().replace(" ", "") == "text/plain;charset=gb18030"


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",  # a Windows program
        b"\x00\x01\x02\x03 binary",  # control bytes
        bytes([0xAA, 0xA1, 0xAA, 0xA2])
        * 100,  # decodes as GB18030, but to private-use code points only
        "抽检".encode("gbk") + b"\x1b[2J",  # text with a terminal escape inside
    ],
)
def test_binary_disguised_as_text_is_still_refused(portal: Portal, content: bytes) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        refused = file_checkin(market, own, "抽检完成", ("报告.txt", content))
    assert refused.status_code == 415 and "报告.txt" in refused.text
    assert stored_files(portal) == {}


def test_a_refused_filing_writes_no_file(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        assert file_checkin(market, own, "已全部完成", completed=True).status_code == 303
        # Reported already: a progress report now is refused by the lifecycle, its file with it.
        # (An amended completion report is a new version: tests/test_filing_versions.py.)
        again = file_checkin(market, own, "再报进展", ("整改台账.txt", OTHER_GBK))
    assert again.status_code == 409 and "已报结" in again.text
    assert stored_files(portal) == {}


def test_each_unit_stores_evidence_within_its_quota(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    second = GBK_REPORT.replace("合格率100%".encode("gbk"), "合格率99%。".encode("gbk"))
    with portal.login("market") as market:
        assert file_checkin(market, own, "第一批", ("抽检报告.txt", GBK_REPORT)).status_code == 303
        assert file_checkin(market, own, "第二批", ("抽检报告二.txt", second)).status_code == 303
        over = file_checkin(market, own, "第三批", ("整改台账.txt", OTHER_GBK))
        # the same file again is stored once and costs nothing more
        same = file_checkin(market, own, "重报", ("抽检报告（重报）.txt", GBK_REPORT))
    assert over.status_code == 400
    assert (
        "市市场监管局的佐证材料已占用 71 KB，本次再上传 34 KB 将超过每单位 102 KB 的配额"
        in over.text
    )
    assert same.status_code == 303
    assert sorted(stored_files(portal)) == sorted(
        hashlib.sha256(c).hexdigest() for c in (GBK_REPORT, second)
    )
    with reading(portal.engine) as session:
        filing = session.exec(select(CheckIn).where(CheckIn.assignment_id == own)).one()
    assert (filing.revision, filing.text) == (3, "重报")  # the refused filing changed nothing
    with portal.login("police") as police:  # another unit has a quota of its own
        theirs = portal.assignment(5, "市公安局")
        assert file_checkin(police, theirs, "整改", ("整改台账.txt", OTHER_GBK)).status_code == 303


def test_orphaned_evidence_files_are_pruned_and_named_ones_kept(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    plan = scenario.build(engine, now)
    folder = tmp_path / "evidence"
    with unit_of_work(engine) as session:
        open_scenario_round(
            session,
            plan_key="2022",
            name="第三季度",
            report_by=date(2022, 9, 30),
            actor=scenario.OFFICE,
            now=now,
            cooperating_lead_days=2,
        )
    named, orphan, fresh = (
        Upload("抽检.txt", GBK_REPORT),
        Upload("旧.txt", OTHER_GBK),
        Upload("新.txt", b"in flight"),
    )
    with unit_of_work(engine) as session:
        checkin = session.exec(select(CheckIn).where(CheckIn.assignment_id == plan.market)).one()
        checkin.evidence = described([named])
        session.add(checkin)
    store(folder, [named, orphan, fresh])
    hour_ago = time.time() - 3 * 3600
    # The marker of a preview that failed is kept with its file and pruned with it.
    (folder / "previews").mkdir()
    for upload in (named, orphan):
        os.utime(folder / upload.sha256[:2] / upload.sha256, (hour_ago, hour_ago))
        marker = folder / "previews" / f"{upload.sha256}.none"
        marker.touch()
        os.utime(marker, (hour_ago, hour_ago))

    with reading(engine) as session:
        removed = prune_orphans(session, folder)
    assert [p.name for p in removed] == [orphan.sha256, f"{orphan.sha256}.none"]
    left = {p.name for p in folder.rglob("*") if p.is_file()}
    assert left == {
        named.sha256,
        f"{named.sha256}.none",
        fresh.sha256,
    }  # a file younger than an hour may belong to a filing in flight

    os.utime(folder / fresh.sha256[:2] / fresh.sha256, (hour_ago, hour_ago))
    result = duban("checkin", "prune-evidence", home=tmp_path, url=database_url)
    assert result.returncode == 0 and "已删除无引用的佐证材料 1 个" in result.stdout, result.stderr
    assert {p.name for p in folder.rglob("*") if p.is_file()} == {
        named.sha256,
        f"{named.sha256}.none",
    }


# 37.5 KB is 38,400 bytes (37.5 x 1,024).
WORD_SIZE = 38_400


def test_a_word_document_is_a_row_with_its_type_size_and_a_link_to_the_same_bytes(
    portal: Portal,
) -> None:
    word = docx_of(WORD_SIZE)
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        assert file_checkin(market, own, "整改完成", ("整改台账.docx", word)).status_code == 303
        page = market.get(f"/assignments/{own}").text
        ((kind, size, link, name),) = rows_of(page)
        download = market.get(link)
    assert (kind, size, name) == ("Word 文档", "37.5 KB", "整改台账.docx")
    assert download.status_code == 200 and download.content == word
    assert download.headers["content-disposition"].startswith("attachment")
    assert "/preview" not in page.split('class="evidence-list"')[1].split("</div>")[0]


def test_each_kind_without_a_preview_is_named_and_sized_and_previews_keep_their_figure(
    portal: Portal,
) -> None:
    # An OLE2 header is 8 + 16 + 8 + 480 = 512 bytes, with a 3-byte body 515 ("et": 514); the GBK
    # text is 17 characters of 2 bytes, 34; the HEIC start is a 4-byte length, a 20-byte box and
    # 64 zeros, 88.
    files = [
        ("台账.doc", evidence_files.ole(b"doc")),
        ("台账.xls", evidence_files.ole(b"xls")),
        ("报告.wps", evidence_files.ole(b"wps")),
        ("统计.et", evidence_files.ole(b"et")),
        ("说明.txt", evidence_files.GBK_TEXT),
        ("手机照片.heic", evidence_files.heic()),
        ("签章件.ofd", evidence_files.ofd()),
        ("现场.png", evidence_files.png()),
        ("报告.pdf", evidence_files.pdf()),
    ]
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        assert file_checkin(market, own, "整改完成", *files, media=None).status_code == 303
        page = market.get(f"/assignments/{own}").text
    rows = [(kind, size, name) for kind, size, _, name in rows_of(page)]
    assert rows[:6] == [
        ("Word 文档", "515 字节", "台账.doc"),
        ("Excel 表格", "515 字节", "台账.xls"),
        ("WPS 文字", "515 字节", "报告.wps"),
        ("WPS 表格", "514 字节", "统计.et"),
        ("文本", "34 字节", "说明.txt"),
        ("HEIC 图片", "88 字节", "手机照片.heic"),
    ]
    assert [r[0] for r in rows[6:]] == ["OFD 文件"]  # the image and the PDF have previews
    for name in ("现场.png", "报告.pdf"):
        figure = re.search(
            r'<figure class="evidence">\s*<a href="(/evidence/\d+/[0-9a-f]{64})">'
            r'<img src="\1/preview"[^>]*></a>\s*<figcaption><a href="\1">'
            + re.escape(name)
            + "</a></figcaption>",
            page,
        )
        assert figure, name


def test_a_pdf_that_cannot_be_rendered_is_a_row_and_is_not_tried_again(portal: Portal) -> None:
    broken = b"%PDF-1.4 garbage"  # 16 bytes
    sha = hashlib.sha256(broken).hexdigest()
    previews = portal.settings.home / "evidence" / "previews"
    marker = previews / f"{sha}.none"
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        assert (
            file_checkin(market, own, "抽检完成", ("抽检报告.pdf", broken), media="application/pdf")
        ).status_code == 303
        first = market.get(f"/assignments/{own}").text
        assert marker.is_file() and not (previews / f"{sha}.png").exists()
        # Set the marker two hours back: an attempt to render again would touch it to now.
        two_hours_ago = time.time() - 2 * 3600
        os.utime(marker, (two_hours_ago, two_hours_ago))
        before = sorted((p.name, p.stat().st_mtime) for p in previews.iterdir())
        second = market.get(f"/assignments/{own}").text
        preview = market.get(rows_of(second)[0][2] + "/preview")
    with portal.login("office") as office:
        queue = office.get("/review").text
    for page in (first, second):
        ((kind, size, _, name),) = rows_of(page)
        assert (kind, size, name) == ("PDF 文件", "16 字节", "抽检报告.pdf")
    assert preview.status_code == 404 and "该 PDF 无法生成预览，请下载查看" in preview.text
    assert [(k, s, n) for k, s, _, n in rows_of(queue)] == [("PDF 文件", "16 字节", "抽检报告.pdf")]
    assert sorted((p.name, p.stat().st_mtime) for p in previews.iterdir()) == before
    assert before == [(f"{sha}.none", two_hours_ago)]


def test_hostile_file_names_in_rows_are_shown_escaped(portal: Portal) -> None:
    names = [f"{value[:60]}.doc" for value in HOSTILE if "\x00" not in value]
    # each its own content (a 3-byte body: 515 bytes), so each is a row of its own
    contents = [evidence_files.ole(f"{i:03d}".encode()) for i in range(len(names))]
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        files = list(zip(names, contents, strict=True))
        assert file_checkin(market, own, "整改完成", *files, media=None).status_code == 303
        page = market.get(f"/assignments/{own}").text
        rows = rows_of(page)
        download = market.get(rows[0][2])
    assert injected_markup_in(page) == []
    # A quote or a control character other than ESC in a file name is sent as %XX (httpx's rule
    # for multipart names, after HTML's, which does so for a quote, CR and LF).
    sent = [re.sub('["\x00-\x1a\x1c-\x1f]', lambda m: f"%{ord(m[0]):02X}", n) for n in names]
    assert [name for _, _, _, name in rows] == [str(escape(name)) for name in sent]
    assert {(kind, size) for kind, size, _, _ in rows} == {("Word 文档", "515 字节")}
    assert download.content == contents[0]
