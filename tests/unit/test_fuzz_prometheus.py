"""Fuzz: Prometheus's query API answers. Any JSON parses to samples/series or is a ValueError (what the client turns
into a one-line PrometheusError); well-formed answers round-trip; and whatever parses, the fleet built from it, its
rows, `gpu` text and JSON never raise."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz
from lgconsole.console.model.fleet import INSTANT_QUERIES, build_fleet
from lgconsole.console.rows.gpu_fleet_text import fleet_lines
from lgconsole.console.sources.gpu import fleet_json
from lgconsole.stack.metrics.prometheus import Sample, parse_matrix, parse_vector

pytestmark = pytest.mark.fuzz

NAMES = st.sampled_from(["vllm:kv_cache_usage_perc", "vllm:num_requests_running", "vllm:num_requests_waiting",
                         "vllm:cache_config_info", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
                         "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE",
                         "lg_api_num_pending_runs", "lg_api_workers_max", "lg_api_pg_pool_size", "up", ""])
LABEL_NAMES = st.sampled_from(["instance", "model_name", "Hostname", "hostname", "gpu", "UUID", "modelName",
                               "num_gpu_blocks", "block_size", "kv_cache_max_concurrency", "engine", "job"])
LABEL_VALUES = st.one_of(st.sampled_from(["", "None", "NaN", "+Inf", "-1", "16", "128", "1e999", "h:1", "[::1]:80",
                                          "gpu-node-1", "a:b:c"]), st.text(max_size=10))
NUMBERS = st.one_of(st.sampled_from(["NaN", "+Inf", "-Inf", "0", "-0", "1e308", "1e309", "0.93", "7", "-3"]),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr))
TIMES = st.one_of(st.floats(min_value=0, max_value=2e9), st.integers(0, 2**31))


@st.composite
def metrics(draw) -> dict:
    labels = draw(st.dictionaries(LABEL_NAMES, LABEL_VALUES, max_size=5))
    name = draw(NAMES)
    return {**labels, "__name__": name} if name else labels


def vector(results) -> dict:
    return {"status": "success", "data": {"resultType": "vector", "result": results}}


VECTORS = st.lists(st.builds(lambda m, t, v: {"metric": m, "value": [t, v]}, metrics(), TIMES, NUMBERS),
                   max_size=8).map(vector)
MATRICES = st.lists(st.builds(lambda m, vs: {"metric": m, "values": vs}, metrics(),
                              st.lists(st.tuples(TIMES, NUMBERS).map(list), max_size=8)),
                    max_size=5).map(lambda r: {"status": "success", "data": {"resultType": "matrix", "result": r}})
JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(st.sampled_from(["status", "data", "resultType", "result",
                                                                             "metric", "value", "values", "error",
                                                                             "errorType", "x"]), inner, max_size=4)),
                    max_leaves=12)
MANGLED = st.one_of(JSON, VECTORS, MATRICES,
                    st.builds(lambda r, k: {"status": "success", "data": {"resultType": k, "result": r}}, JSON,
                              st.sampled_from(["vector", "matrix", "scalar", "string", "x"])))


def _parses_or_value_error(parse, payload):
    try:
        return parse(payload)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return None


@fuzz
@given(MANGLED)
def test_any_answer_parses_or_is_a_one_line_value_error(payload):
    for parse in (parse_vector, parse_matrix):
        result = _parses_or_value_error(parse, json.loads(json.dumps(payload)))
        for item in result or ():
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in item.labels.items())
            if hasattr(item, "value"):
                assert item.value is None or math.isfinite(item.value)
            else:
                assert all(math.isfinite(v) for v in item.values)


@fuzz
@given(VECTORS)
def test_a_well_formed_vector_round_trips(payload):
    """Every element comes back, labels as sent, values as Prometheus wrote them (non-finite: None)."""
    samples = parse_vector(payload)
    assert len(samples) == len(payload["data"]["result"])
    for sample, sent in zip(samples, payload["data"]["result"]):
        assert dict(sample.labels) == {k: str(v) for k, v in sent["metric"].items()}
        number = float(sent["value"][1])
        assert sample.value == (number if math.isfinite(number) else None)
        assert sample.t == float(sent["value"][0])


@fuzz
@given(MATRICES)
def test_a_well_formed_matrix_keeps_the_finite_points_in_order(payload):
    series = parse_matrix(payload)
    for one, sent in zip(series, payload["data"]["result"]):
        finite = [(float(t), float(v)) for t, v in sent["values"] if math.isfinite(float(v))]
        assert list(one.points) == finite


@fuzz
@given(st.dictionaries(st.sampled_from(sorted(INSTANT_QUERIES)), VECTORS, max_size=len(INSTANT_QUERIES)),
       st.one_of(st.none(), st.integers(1, 200_000)), st.one_of(st.none(), st.integers(1, 64)))
def test_whatever_prometheus_answers_the_fleet_reads_back(answers, context_len, fan_out):
    parsed = {key: parse_vector(payload) for key, payload in answers.items()}
    fleet = build_fleet("http://prometheus:9090", 1000.0, parsed, {}, 300.0, context_len, fan_out)
    assert len({h.host for h in fleet.hosts}) == len(fleet.hosts)
    fleet_lines(fleet)
    json.dumps(fleet_json(fleet), allow_nan=True)
    if fleet.imbalance.kv_spread is not None:
        assert fleet.imbalance.kv_spread >= 0


def test_a_nan_quantile_is_no_number():
    [sample] = parse_vector(vector([{"metric": {"instance": "a:1"}, "value": [1.5, "NaN"]}]))
    assert sample == Sample({"instance": "a:1"}, None, 1.5)


def test_an_error_answer_carries_prometheus_text():
    with pytest.raises(ValueError, match="^bad_data: 1:5: parse error: unclosed left parenthesis$"):
        parse_vector({"status": "error", "errorType": "bad_data",
                      "error": "1:5: parse error: unclosed left parenthesis"})
