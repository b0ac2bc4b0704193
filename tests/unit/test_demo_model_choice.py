"""Which model `lgconsole demo` serves (the configured one, the tiny CPU vLLM, or the scripted model), and that the
tiny model's text is called noise wherever the model is named."""

from __future__ import annotations

from lgconsole.console.cli.main import demo_model


def test_a_configured_model_wins_then_the_tiny_cpu_model_then_the_scripted_one():
    assert demo_model("auto", configured=True, tiny_ready=True, gpu=True) == ("configured", "")
    model, note = demo_model("auto", configured=False, tiny_ready=True, gpu=False)
    assert model == "tiny-cpu" and "noise" in note
    model, note = demo_model("auto", configured=False, tiny_ready=False, gpu=False)
    assert model == "scripted" and "make vllm-cpu" in note
    model, note = demo_model("auto", configured=False, tiny_ready=False, gpu=True)
    assert model == "scripted" and "[vllm] model" in note


def test_an_explicit_choice_is_kept():
    assert demo_model("scripted", configured=True, tiny_ready=True, gpu=True) == ("scripted", "")
    assert demo_model("tiny-cpu", configured=False, tiny_ready=False, gpu=False) == ("tiny-cpu", "")


def test_the_tiny_model_is_named_as_noise_in_the_header_and_in_the_demo_graph(monkeypatch):
    from lgconsole.console.config import Config
    from lgconsole.console.sources.stack import model_backend
    from lgconsole.stack.demo import chat_model

    config = Config()
    config.vllm.model, config.vllm.served_model_name = "/x/.models/tiny-llama", "tiny-llama"
    assert model_backend(config) == "vLLM (tiny-llama: its text is noise)"
    config.vllm.served_model_name = "llama-8b"
    assert model_backend(config) == "vLLM (llama-8b)"
    monkeypatch.setenv(chat_model.VLLM_URL_ENV, "http://127.0.0.1:8000")
    monkeypatch.setenv(chat_model.VLLM_MODEL_ENV, "tiny-llama")
    assert "its text is noise" in chat_model.model_backend()
