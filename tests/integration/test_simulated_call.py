"""A whole call as a new user runs it: `hotline serve`, workers, `hotline simulate-call` with Korean speech."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.processes import (
    HOTLINE,
    ROOT,
    Process,
    free_port,
    hotline_env,
    processes,
    service_env,
    start_service,
    wait_http,
)
from tests.store_helpers import add_admin, add_customer

AUDIO = ROOT / "tests" / "fixtures" / "audio" / "zeroth_0294.ulaw8k.wav"


def simulate(env: dict[str, str], caller: str, timeout: float = 240) -> dict:
    done = subprocess.run(
        [*HOTLINE, "simulate-call", "--audio", str(AUDIO), "--from", caller, "--timeout", str(timeout)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout + 60,
    )
    assert done.returncode == 0, f"simulate-call failed:\n{done.stderr[-4000:]}\n{done.stdout[-4000:]}"
    return json.loads(done.stdout)


def assert_complete(record: dict, customer_id: int) -> None:
    assert record["processing"]["state"] == "classified", record["processing"]
    assert record["customer_id"] == customer_id
    assert record["from"] == "+821012345678"
    assert record["status"] == "completed"
    assert record["duration"] and record["started_at"] and record["ended_at"]
    # The clip is a read sentence about coffee: left unclassified, with the reason, for an operator.
    assert (record["type"], record["topic"]) == (None, None)
    assert record["classification"]["reasons"][0].startswith("미분류: 보험 관련 표현이 부족하여 분류하지 않음")
    transcript = record["transcript"].replace(" ", "")
    # Zeroth 104_003_0294: "한 잔 의 커피 가 소비자 에게 전해지기 위해선 여러 차례 의 공정을 거쳐야 한다"
    assert "소비자" in transcript and "공정" in transcript, transcript
    assert record["asr_model"] and record["asr_sample_rate"] == 16000
    assert record["turns"] and record["turns"][0]["speaker"] == "caller"
    assert record["_simulation"]["recording_fetches"] == 1


@pytest.mark.integration
def test_simulated_call_on_postgresql_and_redis(postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    customer_id = add_customer(postgres_url)
    add_admin(postgres_url)
    port = free_port()
    env = service_env(postgres_url, redis_url, port, tmp_path, recording_hosts="api.twilio.com,127.0.0.1")
    with processes(tmp_path) as started:
        start_service(started, env, tmp_path, port)
        record = simulate(env, "+821012345678")
        assert_complete(record, customer_id)


@pytest.mark.integration
def test_simulated_call_on_embedded_defaults(tmp_path: Path) -> None:
    port = free_port()
    env = hotline_env(
        PORT=str(port), HOTLINE_DATA_DIR=str(tmp_path), HOTLINE_RECORDING_HOSTS="api.twilio.com,127.0.0.1"
    )
    subprocess.run([*HOTLINE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    database = f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    customer_id = add_customer(database)
    add_admin(database)
    with processes(tmp_path) as started:
        web = Process("serve", [*HOTLINE, "serve"], env, tmp_path)
        started.append(web)
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=web)
        record = simulate(env, "+821012345678")
        assert_complete(record, customer_id)
