"""Crawls with the credentials a retailer hands over: a Zendesk agent's token (the export is
refused, the users list is read), and a source refusing our credentials (named, with the
permission it needs, while the other sources are indexed)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from adapters.errors import UpstreamAuthError
from adapters.protocols import CustomerSource
from gateway.cli import index_report_lines
from gateway.config import parse_config
from gateway.runtime import open_runtime
from identity.crawl import Crawler, crawl_problem
from identity.evaluate import truth_from_ground_truth
from identity.service import IndexReport
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config, prepare
from silos.zendesk import ZendeskSiloConfig, create_app

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return prepare(SandboxOptions(customers=120, seed=7,
                                  data_dir=tmp_path_factory.mktemp("sandbox")))


def config(sandbox: RunningSandbox, tmp_path: Path, **tokens: str) -> Any:
    data = gateway_config(sandbox)
    data["identity"]["database_url"] = f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}"
    for source, token in tokens.items():
        data["sources"][source]["access_token"] = token
    return parse_config(data, env={})


def transports(sandbox: RunningSandbox, zendesk_role: str) -> Mapping[str, Any]:
    found = dict(sandbox.transports())
    silo = ZendeskSiloConfig(token_role=zendesk_role,
                             order_number_field_id=sandbox.data.order_number_field_id)
    found["zendesk"] = httpx.ASGITransport(app=create_app(sandbox.data.zendesk, silo))
    return found


def zendesk_ids(sandbox: RunningSandbox) -> set[str]:
    return {rid for kind, rid in truth_from_ground_truth(sandbox.data.ground_truth)
            if kind == "zendesk"}


async def test_an_agent_token_indexes_zendesk_through_the_users_list(
        sandbox: RunningSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with open_runtime(config(sandbox, tmp_path),
                            transports=transports(sandbox, "agent")) as runtime:
        with caplog.at_level(logging.WARNING):
            report = await runtime.identity.index()
        assigned = await runtime.registry.assignments()
    assert report.failed == {}
    assert report.methods["zendesk"] == "users list (export forbidden: agent token)"
    assert report.methods["shopify"] == "customers list"
    assert {rid for source, rid in assigned if source == "zendesk"} == zendesk_ids(sandbox)
    assert report.records["zendesk"] == len(zendesk_ids(sandbox))
    assert any("export answered 403" in r.getMessage() for r in caplog.records)
    lines = index_report_lines(report, 1.0)
    assert any(line.split()[0] == "zendesk"
               and line.endswith("via users list (export forbidden: agent token)")
               for line in lines), lines


async def test_an_admin_token_reads_the_export(sandbox: RunningSandbox, tmp_path: Path) -> None:
    async with open_runtime(config(sandbox, tmp_path),
                            transports=transports(sandbox, "admin")) as runtime:
        report = await runtime.identity.index()
    assert report.methods["zendesk"] == "incremental export"


async def test_a_refused_shopify_token_names_the_scope_and_the_others_are_indexed(
        sandbox: RunningSandbox, tmp_path: Path) -> None:
    async with open_runtime(config(sandbox, tmp_path, shopify="shpat_revoked"),
                            transports=transports(sandbox, "agent")) as runtime:
        report = await runtime.identity.index()
        assigned = await runtime.registry.assignments()
        sources = runtime.customer_sources()
        crawler = Crawler(runtime.registry, sources, runtime.normalizer, interval_s=60)
        ticked = await crawler.tick(force=True)
    problem = report.failed["shopify"]
    assert "HTTP 401" in problem and "'shopify'" in problem and "read_customers" in problem
    assert "shpat_revoked" not in problem
    assert set(report.records) == {"square", "zendesk", "loyalty"}
    assert {source for source, _ in assigned} == {"square", "zendesk", "loyalty"}
    lines = index_report_lines(report, 1.0)
    assert any("shopify" in line and "FAILED" in line and "read_customers" in line
               for line in lines)
    assert "1 of 4 sources failed (shopify)" in lines[-1]
    assert ticked["shopify"].status == "failed"
    assert ticked["shopify"].problem is not None and "read_customers" in ticked["shopify"].problem
    assert ticked["zendesk"].status == "crawled"
    assert ticked["zendesk"].method == "users list (export forbidden: agent token)"


@pytest.mark.parametrize(("kind", "status", "needed"), [
    ("square", 401, "CUSTOMERS_READ"),
    ("zendesk", 403, "admin's API token"),
    ("loyalty", None, "SELECT on loyalty_member"),
    ("elsewhere", 403, "credentials that may read its customers"),
])
def test_each_kind_names_the_permission_it_needs(kind: str, status: int | None,
                                                 needed: str) -> None:
    source = cast(CustomerSource, SimpleNamespace(source=f"my-{kind}", kind=kind))
    problem = crawl_problem(source, UpstreamAuthError(f"my-{kind}", "refused", status=status))
    assert needed in problem and f"'my-{kind}'" in problem


def test_a_report_without_failures_says_nothing_failed() -> None:
    report = IndexReport({"shopify": 3}, {"shopify": 1}, 2, 2, {}, {"shopify": "customers list"})
    lines = index_report_lines(report, 0.5)
    assert lines[0].split() == ["shopify", "3", "records,", "1", "removed", "via", "customers",
                                "list"]
    assert "failed" not in lines[-1]
