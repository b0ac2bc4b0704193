"""Gathers what triage needs from the stack's readers (blocking: call it from a worker or the doctor command).

Each reader that fails is named in `TriageInputs.errors` instead of stopping the others: triage with the
LangGraph server down still reports Postgres, disk and threads.
"""

from __future__ import annotations

import time

from lgconsole.stack.services import supervisor
from lgconsole.stack.checkpoints.reader import CheckpointReader
from lgconsole.stack.errors import StackError
from lgconsole.stack.metrics.ops_stats import active_runs, checkpoint_table_stats, redis_memory
from lgconsole.stack.services.ports import beyond_loopback, listen_addresses
from lgconsole.stack.services.postgres import PostgresService
from lgconsole.stack.services.service import ServiceState, StackSpec
from lgconsole.stack.services.supervisor import build_services
from lgconsole.stack.metrics.prometheus import PrometheusClient
from lgconsole.stack.metrics.vllm import VllmScraper

from lgconsole.console.config import Config
from lgconsole.console.model.fleet import replicas_from
from lgconsole.console.model.fleet_health import HEALTH_QUERIES, FleetHealth, down_targets, job_kinds
from lgconsole.console.model.capacity import StarvationDetector, StarvationSample
from lgconsole.console.sources.external import merged_services, probe_external, probe_run_elsewhere
from lgconsole.console.sources.gpu import vllm_urls
from lgconsole.console.model.triage import Finding, Thresholds, TriageInputs, VllmObservation, evaluate, utcnow
from lgconsole.console.sources.urls import service_url
from lgconsole.console.sources.trace import recent_state_growth

THREAD_LIMIT = 200
VLLM_WINDOW_S = 1.0


class TriageSource:
    def __init__(self, config: Config, thresholds: Thresholds | None = None):
        self.config = config
        self.thresholds = thresholds or Thresholds()
        self.probes: dict = {}  # the external services' probes of the last gather

    def gather(self) -> TriageInputs:
        config = self.config
        state = supervisor.read_state(config.state_path)
        if not state.services and not config.paths.spec_file.exists() and not any(
                getattr(config, name).url for name in ("postgres", "langgraph", "redis", "vllm")):
            # no stack here; a fleet's Prometheus is still asked, and watching only a fleet is no fault
            return TriageInputs(now=utcnow(), supervisor_running=False,
                                never_up=None if config.prometheus.url else str(config.state_path),
                                fleet=self._observe_fleet())
        # external services as lgconsole's own probes find them now; the readers below ask only those that answer
        self.probes = probe_external(config)
        services = merged_services(state.services, config, self.probes, probe_run_elsewhere(config, state))
        inputs = TriageInputs(now=utcnow(), supervisor_running=state.supervisor_alive, services=services)
        healthy = {s.name for s in services if s.state == ServiceState.HEALTHY}

        def readable(name: str) -> bool:
            return name in healthy

        pg_url = self._url("postgres", inputs) if readable("postgres") else None
        if pg_url:
            try:
                with CheckpointReader(pg_url) as reader:
                    inputs.errored_threads = reader.list_threads(limit=THREAD_LIMIT, status="errored")
                    inputs.waiting_threads = reader.list_threads(limit=THREAD_LIMIT, status="waiting")
                    inputs.state_growth = recent_state_growth(reader)
                inputs.tables = checkpoint_table_stats(pg_url, data_dir=self._postgres_data_dir())
            except StackError as exc:  # one problem, one finding: the tables are not read past a failed thread read
                inputs.errors.append(f"Postgres: {exc}" if "Postgres" not in str(exc) else str(exc))
        lg_url = self._url("langgraph", inputs) if readable("langgraph") else None
        if lg_url:
            try:
                inputs.active_runs = active_runs(lg_url)
            except StackError as exc:
                inputs.errors.append(str(exc))
        inputs.open_server = self._open_server()
        inputs.vllm = self._observe_vllm(inputs)
        inputs.fleet = self._observe_fleet()
        redis_url = self._url("redis", inputs) if readable("redis") else None
        if redis_url:
            try:
                inputs.redis = redis_memory(redis_url)
            except StackError as exc:
                inputs.errors.append(str(exc))
        return inputs

    def _observe_vllm(self, inputs: TriageInputs) -> list[VllmObservation]:
        """Two scrapes of each vLLM server a moment apart: enough to see preemptions rising."""
        urls = vllm_urls(self.config)
        if "vllm" in self.probes and not self.probes["vllm"].ok:
            return []  # an external vLLM that does not answer is its own finding (external-down)
        if not urls:
            return []
        scraper = VllmScraper(urls)
        try:
            first = scraper.scrape_all()
            time.sleep(VLLM_WINDOW_S)
            second = scraper.scrape_all()
        finally:
            scraper.close()
        out = []
        for a, b in zip(first, second):
            if b.error:
                inputs.errors.append(f"vLLM {b.error}" if b.error.startswith(b.url) else f"vLLM at {b.url}: {b.error}")
                out.append(VllmObservation(b.url, error=b.error))
                continue
            detector = StarvationDetector(max_num_seqs=self.config.vllm.max_num_seqs)
            detector.update(StarvationSample.of(a))
            episode = detector.update(StarvationSample.of(b))
            delta = (b.preemptions_total or 0) - (a.preemptions_total or 0) if not a.error else 0.0
            out.append(VllmObservation(b.url, b.kv_cache_usage, b.running, b.waiting, self.config.vllm.max_num_seqs,
                                       max(0.0, delta), starving=episode is not None))
        return out

    def _observe_fleet(self) -> FleetHealth | None:
        """The fleet's targets that are down and its replicas' load, from the configured Prometheus."""
        prometheus = self.config.prometheus
        if not prometheus.url:
            return None
        client = PrometheusClient(prometheus.url, timeout=prometheus.timeout, headers=prometheus.http_headers())
        try:
            answers = {key: client.query(promql) for key, promql in HEALTH_QUERIES.items()}
        except StackError as exc:
            return FleetHealth(client.shown, error=str(exc))
        finally:
            client.close()
        return FleetHealth(client.shown, replicas=tuple(replicas_from(answers)),
                           down=tuple(down_targets(answers["down"], job_kinds(answers["kinds"]))))

    def findings(self) -> list[Finding]:
        return evaluate(self.gather(), self.thresholds)

    def _url(self, name: str, inputs: TriageInputs) -> str | None:
        try:
            return service_url(self.config, name)
        except StackError as exc:
            if getattr(self.config, name).url or self.config.paths.spec_file.exists():
                inputs.errors.append(str(exc))
            return None

    def _open_server(self) -> list[str]:
        """Where the managed LangGraph server listens beyond loopback while it runs with auth = "none"."""
        if self.config.langgraph.url:
            return []
        try:
            service = build_services(StackSpec.load(self.config.state_path)).get("langgraph")
        except (OSError, ValueError):
            return []
        if service is None or service.spec.get("auth", "token") != "none" or not service.port:
            return []
        return beyond_loopback(listen_addresses(service.port))

    def _postgres_data_dir(self) -> str | None:
        if self.config.postgres.url:
            return None  # external: its disk is not ours to see
        try:
            service = build_services(StackSpec.load(self.config.state_path))["postgres"]
        except (OSError, KeyError, StackError):
            return None
        assert isinstance(service, PostgresService)
        return str(service.data_dir())
