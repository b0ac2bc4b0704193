"""What the GPU screen stands on, without the screen: sparkline cells, the vLLM URLs and serving facts read from the
config, and `lgconsole gpu` (JSON without secrets, text with rates from two scrapes)."""

from __future__ import annotations

from gpu_fixtures import starved_readings
from lgconsole.console.config import Config
from lgconsole.console.sources.gpu import ReplayGpuSource
from lgconsole.widgets.sparkline import sparkline_cells


def test_sparkline_cells_scale_and_alignment():
    assert sparkline_cells([], 5) == "·····"
    assert sparkline_cells([0.0, 1.0], 4, vmax=1.0) == "   █"  # newest on the right, zero draws nothing
    assert sparkline_cells([0.01, 1.0], 2, vmax=1.0) == "▁█"  # anything above zero stays visible
    assert sparkline_cells([0.93] * 3, 3, vmax=1.0) == "▇▇▇"  # a steady high value draws high
    assert len(sparkline_cells(list(range(100)), 10)) == 10


def test_vllm_urls_from_the_config(tmp_path):
    from lgconsole.console.sources.gpu import vllm_urls
    from lgconsole.stack.services.service import StackSpec

    assert vllm_urls(Config(state_dir=str(tmp_path))) == []  # no vLLM configured
    external = Config(state_dir=str(tmp_path))
    external.vllm.url = "http://gpu-box:8000/v1"
    assert vllm_urls(external) == ["http://gpu-box:8000"]
    managed = Config(state_dir=str(tmp_path))
    managed.vllm.model = "/srv/models/tiny-llama"
    assert vllm_urls(managed) == []  # before the first `up` there is no spec with a port
    StackSpec(state_dir=str(tmp_path), services={"vllm": {"model": "/srv/models/tiny-llama", "port": 43210}}).save()
    assert vllm_urls(managed) == ["http://127.0.0.1:43210"]


def test_serving_facts_read_the_local_model_config(tmp_path):
    import json

    from gpu_fixtures import TINY_LLAMA_CONFIG
    from lgconsole.console.sources.gpu import serving_facts

    (tmp_path / "config.json").write_text(json.dumps(TINY_LLAMA_CONFIG))
    config = Config(state_dir=str(tmp_path))
    config.vllm.model, config.vllm.max_num_seqs = str(tmp_path), 8
    facts = serving_facts(config, max_model_len=1024, fan_out=3)
    assert (facts.bytes_per_token, facts.max_num_seqs, facts.max_model_len, facts.fan_out) == (1024, 8, 1024, 3)


def _gpu_args(*argv):
    import argparse

    from lgconsole.console.cli.gpu import add_gpu_command

    parser = argparse.ArgumentParser()
    add_gpu_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["gpu", *argv])


def test_cli_json_has_no_secrets_and_says_what_failed(tmp_path):
    import io
    import json
    import socket

    from lgconsole.console.cli.gpu import cmd_gpu

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    out = io.StringIO()
    args = _gpu_args("--json", "--url", f"http://admin:hunter2@127.0.0.1:{port}", "--window", "0")
    assert cmd_gpu(Config(state_dir=str(tmp_path)), args, out=out) == 0
    text = out.getvalue()
    assert "hunter2" not in text
    data = json.loads(text)
    (server,) = data["vllm"]
    assert server["error"] == f"http://admin:***@127.0.0.1:{port}: connection refused"
    assert data["gpus"]["available"] or data["gpus"]["reason"]


def test_cli_text_with_rates_from_two_scrapes(tmp_path):
    import io

    from lgconsole.console.cli.gpu import cmd_gpu

    out = io.StringIO()
    readings = starved_readings()[10:12]  # t = 5.3 and 5.8: +4 preemptions in 0.5 s
    assert cmd_gpu(Config(state_dir=str(tmp_path)), _gpu_args(), out=out, source=ReplayGpuSource(readings),
                   sleep=lambda s: None) == 0
    text = out.getvalue()
    assert "pid 4242     vllm" in text and "70.3 GiB" in text
    assert "KV cache 93%  running 4  waiting 9 (capacity 9)" in text
    assert "preemptions 8.0/s" in text
    assert "2 seqs fit at 1,024" in text
    assert "KV-CACHE STARVATION" in text
