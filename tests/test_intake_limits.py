"""Hostile and unreadable notice files: one clear Chinese message fast, nothing written, the portal
still serving."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from config import Settings
from intake.isolated import read_notice_isolated
from intake.notice import ImportFailed
from intake.source import read_notice
from tests.support import notices, office
from tests.support.hostile_files import HOSTILE_FILES
from tests.support.portal import csrf_of, open_round, running, seed

DUBAN = str(Path(sys.executable).parent / "duban")
TABLES = ("plan", "task", "measure", "unit", "assignment", "audit_event")
CJK = re.compile(r"[\u4e00-\u9fff]")


def refusal(path: Path) -> tuple[ImportFailed, float]:
    started = time.perf_counter()
    with pytest.raises(ImportFailed) as failed:
        read_notice(path)
    return failed.value, time.perf_counter() - started


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_a_hostile_file_gets_one_chinese_message_in_under_two_seconds(
    case: str, tmp_path: Path
) -> None:
    build, fragment = HOSTILE_FILES[case]
    failed, elapsed = refusal(build(tmp_path))
    assert elapsed < 2.0, f"{case}: {elapsed:.2f} s"
    assert len(failed.problems) == 1
    message = failed.message("zh")
    assert fragment in message and "无法导入" in message and "未写入任何数据" in message
    assert CJK.search(failed.problems[0].zh)


def test_the_limits_name_themselves(tmp_path: Path) -> None:
    bomb, _ = HOSTILE_FILES["workbook bomb"]
    message = refusal(bomb(tmp_path))[0].problems[0].zh
    assert "17,179,869,184 个单元格" in message and "上限 1,000,000 个单元格" in message
    zipped, _ = HOSTILE_FILES["zip bomb as docx"]
    assert "解压后共 256 MB，超过上限 100 MB" in refusal(zipped(tmp_path))[0].problems[0].zh


def test_a_sheet_just_inside_the_cell_limit_is_read(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("任务清单")
    sheet.append(["序号", "重点任务", "责任单位"] + [None] * 97)  # 100 columns
    for number in range(
        1, 9_999
    ):  # with the header and the last row: 10,000 rows x 100 columns, the limit
        sheet.append([number, f"任务{number}", "市民政局"])
    sheet.append([None] * 99 + ["末格"])
    path = tmp_path / "edge.xlsx"
    book.save(path)
    assert len(read_notice(path).tasks) == 9_998


@pytest.mark.parametrize(
    "case",
    [
        "workbook bomb",
        "zip bomb as docx",
        "50 MB text",
        "binary as txt",
        "truncated docx",
        "encrypted pdf",
    ],
)
def test_the_cli_refuses_a_hostile_file_with_exit_2_and_writes_nothing(
    case: str, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    build, fragment = HOSTILE_FILES[case]
    path = build(tmp_path)
    before = _counts(engine)
    result = _duban("import", str(path), home=tmp_path, url=database_url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and fragment in result.stderr
    assert result.stderr.startswith(f"错误：无法导入“{path.name}”，共 1 个问题，未写入任何数据：")
    assert _counts(engine) == before


def test_without_libreoffice_a_doc_gets_one_line_saying_what_to_do(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "通知.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)
    before = _counts(engine)
    # Only the venv on PATH: no soffice, as on a machine without LibreOffice.
    result = _duban(
        "import", str(path), home=tmp_path, url=database_url, PATH=str(Path(sys.executable).parent)
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    problem = result.stderr.strip().splitlines()[-1]
    assert (
        "本机未安装 LibreOffice" in problem
        and "apt-get install libreoffice-writer-nogui" in problem
    )
    assert "另存为 .docx" in problem
    assert _counts(engine) == before


@office.needs_soffice
def test_a_damaged_doc_is_refused_after_libreoffice_tries_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2048))
    failed, elapsed = refusal(path)
    # LibreOffice either refuses it or reads an empty document: either way one message, in Chinese.
    assert len(failed.problems) == 1 and elapsed < 30
    assert "另存为 .docx" in failed.problems[0].zh or "没有找到任务清单" in failed.problems[0].zh


def test_the_worker_process_reads_what_the_reader_reads(tmp_path: Path) -> None:
    path = notices.write_xlsx(tmp_path / "notice.xlsx")
    assert read_notice_isolated(path).as_json() == read_notice(path).as_json()
    build, fragment = HOSTILE_FILES["workbook bomb"]
    with pytest.raises(ImportFailed) as failed:
        read_notice_isolated(build(tmp_path))
    assert fragment in failed.value.message("zh") and len(failed.value.problems) == 1


def _duban(*args: str, home: Path, url: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    environment.update(DUBAN_HOME=str(home), DUBAN_DATABASE_URL=url, DUBAN_LANG="zh", **env)
    return subprocess.run(
        [DUBAN, *args], capture_output=True, text=True, env=environment, timeout=120
    )


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def _long_workbook(path: Path) -> Path:
    """The three tasks behind a first sheet of 300,000 cells of figures: seconds of reading for a
    cell-by-cell reader."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    figures = book.create_sheet("附表")
    for row in range(30_000):
        figures.append([f"数据{row}-{column}" for column in range(10)])
    tasks = book.create_sheet("任务清单")
    tasks.append(notices.HEADER)
    for row in notices.ROWS:
        tasks.append(row)
    book.save(path)
    return path


def _held_open(portal_url: str, client: httpx.Client, fields: dict, files: dict) -> tuple:
    """An upload sent up to half its body and held there: the socket and the rest to send."""
    request = client.build_request("POST", "/import", data=fields, files=files)
    body = request.read()
    headers = {k: v for k, v in request.headers.items() if k.lower() != "connection"}
    head = "POST /import HTTP/1.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "Connection: close\r\n\r\n"
    host, port = portal_url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=60)
    connection.sendall(head.encode("latin-1") + body[: len(body) // 2])
    return connection, body[len(body) // 2 :]


def _answer(connection: socket.socket, rest: bytes) -> tuple[int, str]:
    connection.sendall(rest)
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    connection.close()
    head, _, page = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), page.decode("utf-8", errors="replace")


def test_the_portal_keeps_serving_pages_while_it_reads_uploads(
    engine: Engine, database_url: str, backend: str, tmp_path: Path
) -> None:
    """Order, not speed: a page asked for while an upload is held open mid-body is answered before
    the upload is finished, and pages asked for while uploads are read are all answered. (A blocked
    portal would answer the page only after the rest of the body, which is never sent before it.)"""
    if backend != "sqlite":
        pytest.skip("the event loop is the same on either database")
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    settings = Settings(
        home=tmp_path / "home", database_url=database_url, dev_mode=True, upload_max_mb=64
    )
    uploads = []
    for number, (name, (build, _)) in enumerate(HOSTILE_FILES.items()):
        (tmp_path / f"case{number}").mkdir()
        uploads.append((name, build(tmp_path / f"case{number}")))
    slow = [("long workbook", _long_workbook(tmp_path / "long.xlsx"))]
    if office.SOFFICE:  # a conversion takes LibreOffice seconds: all of it in the worker
        slow.append(
            (
                "doc",
                office.via_odt(
                    notices.write_docx_table(tmp_path / "notice.docx"), tmp_path / "notice.doc"
                ),
            )
        )
    with (
        running(settings, engine) as portal,
        portal.login("office") as uploader,
        portal.login("leader") as reader,
    ):
        token = csrf_of(uploader.get("/import").text)
        fields = {"csrf": token, "plan_key": "p"}
        held, rest = _held_open(
            portal.url,
            uploader,
            fields,
            {"notice": ("long.xlsx", slow[0][1].read_bytes(), "application/octet-stream")},
        )
        assert reader.get("/dashboard").status_code == 200  # the upload is still half sent
        status, page = _answer(held, rest)
        assert status == 200 and "确认导入" in page, page[-500:]

        answers: dict[str, tuple[int, str]] = {}
        done = threading.Event()

        def upload_all() -> None:
            try:
                for name, path in [*uploads, *slow]:
                    response = uploader.post(
                        "/import",
                        data=fields,
                        files={
                            "notice": (path.name, path.read_bytes(), "application/octet-stream")
                        },
                    )
                    answers[name] = (response.status_code, response.text)
            finally:
                done.set()

        worker = threading.Thread(target=upload_all)
        worker.start()
        loads = 0
        while not done.is_set():
            assert reader.get("/dashboard").status_code == 200
            loads += 1
        worker.join()
    assert loads >= 1
    for name, (_build, fragment) in HOSTILE_FILES.items():
        status, page = answers[name]
        assert status == 400 and fragment in page, (name, status, page[-500:])
    for name, _ in slow:
        assert (
            answers[name][0] == 200
            and "确认导入" in answers[name][1]
            and "完善儿童福利保障制度" in answers[name][1]
        )


def test_a_document_part_too_large_to_parse_is_refused_by_name(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "huge.docx"
    paragraph = "<w:p><w:r><w:t>加强组织领导。</w:t></w:r></w:p>".encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w") as stream:
            for _ in range(
                48
            ):  # 48 MB: under the 100 MB for the whole file, over 40 MB for one part
                stream.write(paragraph * ((1 << 20) // len(paragraph) + 1))
    failed, elapsed = refusal(path)
    assert elapsed < 2.0
    assert (
        "“word/document.xml”解压后 48" in failed.problems[0].zh
        and "超过上限 40 MB" in failed.problems[0].zh
    )
