"""``c360 identity explain | review | link | split | eval`` over a running ``c360 sandbox``
indexed by ``c360 index``: real processes for the silos, the commands as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from gateway.cli import main
from identity.evaluate import pairwise_score, truth_from_ground_truth
from silos.shopify import ShopifySiloConfig
from silos.square import SquareSiloConfig
from tests.processes import free_port_block, read_until

PHONE = "+1 646 555 0187"
MARIA_EMAIL = "maria.testa@example.org"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running sandbox with two records the rules keep apart (a Shopify Maria Testa and a
    Square Marta Testa sharing a phone), indexed; its data directory."""
    data_dir = tmp_path_factory.mktemp("sandbox")
    port = free_port_block()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "sandbox", "--customers", "80", "--port",
         str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        read_until(proc, "Ctrl-C stops", timeout=60)
        shopify = httpx.post(
            f"http://127.0.0.1:{port + 1}/admin/api/2026-07/customers.json",
            headers={"X-Shopify-Access-Token": ShopifySiloConfig().access_token},
            json={"customer": {"first_name": "Maria", "last_name": "Testa",
                               "email": MARIA_EMAIL, "phone": PHONE}})
        assert shopify.status_code == 201, shopify.text
        square = httpx.post(
            f"http://127.0.0.1:{port + 2}/v2/customers",
            headers={"Authorization": f"Bearer {SquareSiloConfig().access_token}"},
            json={"given_name": "Marta", "family_name": "Testa", "phone_number": PHONE,
                  "idempotency_key": "cli-identity-marta"})
        assert square.status_code == 200, square.text
        yield data_dir
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def config(sandbox: Path) -> Path:
    path = sandbox / "c360.toml"
    assert main(["index", "--config", str(path)]) == 0
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ids(config: Path, first: str) -> tuple[str, str]:
    engine = sa.create_engine(f"sqlite:///{config.parent / 'identity.sqlite'}")
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "select source, record_id from identity_record where first_key = :f and "
            "last_key = 'testa'"), {"f": first}).one()
    engine.dispose()
    return row[0], row[1]


def test_index_reports_each_sources_method(sandbox: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "index", "--config", str(sandbox / "c360.toml"))
    assert code == 0
    assert "via incremental export" in out and "via customers list" in out
    assert "via ListCustomers" in out and "via loyalty_member table" in out


def test_explain_by_email_shows_rules_masked_values_and_the_refused_neighbour(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marta = ids(config, "marta")
    code, out, err = run(capsys, "identity", "explain", "--config", str(config),
                         "--email", MARIA_EMAIL)
    assert code == 0, err
    assert "rule self" in out
    assert f"{marta[0]}:{marta[1]}" in out
    assert "shares phone +1 ********87 but names differ" in out
    assert MARIA_EMAIL not in out and "6465550187" not in out


def test_explain_by_phone_and_by_record_as_json(config: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "identity", "explain", "--config", str(config), "--phone",
                       "(646) 555-0187", "--json")
    assert code == 0
    people = json.loads(out)
    assert len(people) == 2
    assert all(p["refused"] and p["records"][0]["rule"] == "self" for p in people)
    source, rid = ids(config, "maria")
    code, out, _ = run(capsys, "identity", "explain", "--config", str(config), "--record",
                       f"{source}:{rid}", "--json")
    [maria] = json.loads(out)
    assert maria["records"][0]["id"] == rid


def test_review_lists_the_refused_pair_with_its_link_command(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maria, marta = ids(config, "maria"), ids(config, "marta")
    code, out, _ = run(capsys, "identity", "review", "--config", str(config), "--limit", "5")
    assert code == 0
    command = f'c360 identity link {maria[0]}:{maria[1]} {marta[0]}:{marta[1]} --reason "..."'
    assert command in out
    assert "no address" in out
    first = out.splitlines()[1]
    assert first.startswith("0.9") and f"{maria[0]}:{maria[1]}" in first


def test_link_then_split_then_reindex(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maria, marta = ids(config, "maria"), ids(config, "marta")
    code, out, err = run(capsys, "identity", "link", "--config", str(config),
                         f"{maria[0]}:{maria[1]}", f"{marta[0]}:{marta[1]}",
                         "--reason", "same customer, confirmed by phone", "--actor", "alice")
    assert code == 0, err
    _, out, _ = run(capsys, "identity", "explain", "--config", str(config), "--record",
                    f"{marta[0]}:{marta[1]}")
    assert "rule manual" in out
    assert "manual by alice: same customer, confirmed by phone" in out

    code, out, err = run(capsys, "identity", "split", "--config", str(config),
                         f"{marta[0]}:{marta[1]}", "--reason", "not her after all")
    assert code == 0, err
    actor = os.environ.get("USER")
    for _ in range(2):
        _, out, _ = run(capsys, "identity", "explain", "--config", str(config), "--record",
                        f"{marta[0]}:{marta[1]}", "--json")
        [marta_person] = json.loads(out)
        assert [r["id"] for r in marta_person["records"]] == [marta[1]]
        assert marta_person["records"][0]["evidence"][0].startswith("split by ")
        if actor:
            assert marta_person["records"][0]["evidence"][0] == \
                f"split by {actor}: not her after all"
        assert main(["index", "--config", str(config)]) == 0
        capsys.readouterr()


def test_eval_prints_the_pairwise_score(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth_path = config.parent / "ground_truth.json"
    code, out, _ = run(capsys, "identity", "eval", "--config", str(config), "--truth",
                       str(truth_path), "--json")
    assert code == 0
    printed = json.loads(out)
    truth = truth_from_ground_truth(json.loads(truth_path.read_text()))
    engine = sa.create_engine(f"sqlite:///{config.parent / 'identity.sqlite'}")
    with engine.connect() as conn:
        predicted = {(k, r): g for k, r, g in conn.execute(sa.text(
            "select kind, record_id, golden_id from identity_record "
            "where golden_id is not null"))}
    engine.dispose()
    expected = pairwise_score(truth, predicted)
    assert printed["precision"] == pytest.approx(expected.precision)
    assert printed["recall"] == pytest.approx(expected.recall)
    assert printed["true_pairs"] == expected.true_pairs
    _, out, _ = run(capsys, "identity", "eval", "--config", str(config), "--truth",
                    str(truth_path))
    assert out.startswith(f"precision {expected.precision:.4f}  recall {expected.recall:.4f}")


@pytest.mark.parametrize(("args", "message"), [
    (["explain", "--record", "shopify:0"], "no record shopify:0"),
    (["explain", "--record", "shopify-17"], "is not a record: give kind:id or source:id"),
    (["explain", "--email", "nobody@nowhere.example"], "no record carries that email"),
    (["split", "nope", "--reason", "x"], "is not a record"),
    (["eval", "--truth", "missing.json"], "no truth file"),
])
def test_bad_input_is_a_clear_message(config: Path, capsys: pytest.CaptureFixture[str],
                                      args: list[str], message: str) -> None:
    action, *rest = args
    code, out, err = run(capsys, "identity", action, "--config", str(config), *rest)
    assert code == 1
    assert message in err and "Traceback" not in err + out


def test_a_missing_config_is_a_clear_message(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "identity", "review", "--config", str(tmp_path / "none.toml"))
    assert code == 2 and "file not found" in err
