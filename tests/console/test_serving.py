"""The node serves the console ([CONSOLE-SERVE.1]-[CONSOLE-SERVE.3]) and its catalogues agree."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import httpx
from fastapi import FastAPI

from consortia.api.errors import node_error_response
from consortia.console import STATIC_DIR, VENDOR_FILES, content_security_policy, mount

CATALOGUES = STATIC_DIR / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalogue(lang: str) -> dict[str, str]:
    data = json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")


def _console_app(directory: Path) -> FastAPI:
    app = FastAPI()
    mount(app, directory, render_error=node_error_response)
    return app


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, zh = _catalogue("en"), _catalogue("zh")
    assert sorted(en) == sorted(zh)
    for key, message in en.items():
        assert set(PLACEHOLDER.findall(message)) == set(PLACEHOLDER.findall(zh[key])), key
        assert message.strip() and zh[key].strip(), key


def test_every_key_the_scripts_name_is_in_the_catalogue() -> None:
    """Literal keys in the scripts (k="…", t("…")) exist; the browser tests check the rest."""
    en = _catalogue("en")
    scripts = "\n".join(p.read_text(encoding="utf-8") for p in (STATIC_DIR / "js").rglob("*.js"))
    literal = set(re.findall(r'\bk="(\w+\.[\w.]+)"', scripts)) | set(
        re.findall(r'\bt\("(\w+\.[\w.]+)"', scripts)
    )
    assert literal, "no catalogue keys found in the scripts"
    assert literal <= set(en), sorted(literal - set(en))


def test_import_map_points_at_the_vendored_files() -> None:
    index = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    targets = set(re.findall(r'"\./vendor/([\w.-]+)"', index))
    assert targets == set(VENDOR_FILES)
    script = (Path(__file__).parents[2] / "scripts" / "vendor-console.sh").read_text()
    for name in VENDOR_FILES:
        assert f'"$tmp/{name}"' in script


async def test_serves_index_and_files_with_revalidation(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    for name in VENDOR_FILES:
        (tmp_path / "vendor" / name).write_text("export {};\n")
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    (tmp_path / "app.js").write_text("export {};\n")
    async with _client(_console_app(tmp_path)) as client:
        index = await client.get("/console/")
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("text/html")
        assert index.headers["cache-control"] == "no-cache"
        script = await client.get("/console/app.js")
        assert script.headers["content-type"].startswith("text/javascript")
        redirect = await client.get("/console", follow_redirects=False)
        assert redirect.status_code in {307, 308}
        assert (await client.get("/console/missing.js")).status_code == 404


async def test_missing_vendor_files_answer_503_saying_to_run_make_setup(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    async with _client(_console_app(tmp_path)) as client:
        as_api = await client.get("/console/", headers={"accept": "application/json"})
        assert as_api.status_code == 503
        assert as_api.json()["error"]["code"] == "CONSOLE_NOT_INSTALLED"
        assert "make setup" in as_api.json()["error"]["message"]
        as_browser = await client.get("/console/", headers={"accept": "text/html"})
        assert as_browser.status_code == 503
        assert "make setup" in as_browser.text


async def test_pages_carry_a_policy_that_allows_only_the_nodes_scripts(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    for name in VENDOR_FILES:
        (tmp_path / "vendor" / name).write_text("export {};\n")
    importmap = '{"imports": {"preact": "./vendor/preact.js"}}'
    (tmp_path / "index.html").write_text(
        f'<!doctype html><script type="importmap">{importmap}</script>'
        '<script type="module" src="./app.js"></script>'
    )
    digest = base64.b64encode(hashlib.sha256(importmap.encode()).digest()).decode()
    async with _client(_console_app(tmp_path)) as client:
        policy = (await client.get("/console/")).headers["content-security-policy"]
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    assert directives["script-src"] == f"'self' 'sha256-{digest}'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert content_security_policy(tmp_path) == policy
