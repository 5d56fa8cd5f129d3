"""The Grafana files under deploy/grafana: valid JSON and YAML, data sources that exist, and only
metric names the gateway exports and measurement, tag and field keys the InfluxDB store writes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric
from gateway.metrics import GatewayMetrics
from gateway.store.base import StoredMessage
from gateway.store.influx import SCHEMA, InfluxStore
from tests.services import InfluxProcess

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# Series Prometheus adds itself to every scrape, and labels it adds to every series.
PROMETHEUS_OWN = {"up"}
PROMETHEUS_LABELS = {"job", "instance"}
# PromQL words that look like names: functions, aggregations and keywords the dashboards use.
PROMQL_WORDS = {
    "sum", "count", "rate", "increase", "histogram_quantile", "topk", "time", "vector",
    "by", "without", "or", "and", "unless", "on", "ignoring", "le",
}  # fmt: skip


def documents() -> Iterator[tuple[Path, Any]]:
    for path in sorted(GRAFANA.rglob("*")):
        if path.is_dir():
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            yield path, json.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            yield path, yaml.safe_load(text)
        else:
            pytest.fail(f"{path}: neither JSON nor YAML; what is it for?")


def exported() -> tuple[set[str], dict[str, set[str]]]:
    """Every sample name /metrics can show, and each one's label names."""
    metrics = GatewayMetrics()
    labels: dict[str, set[str]] = {}
    families = set()
    for collector in vars(metrics).values():
        if not isinstance(collector, MetricWrapperBase):
            continue
        families.add(collector._name)
        names = {collector._name}
        if collector._type == "counter":
            names = {f"{collector._name}_total", f"{collector._name}_created"}
        elif collector._type == "histogram":
            names = {f"{collector._name}_{s}" for s in ("bucket", "count", "sum", "created")}
        for name in names:
            labels[name] = set(collector._labelnames) | (
                {"le"} if name.endswith("_bucket") else set()
            )
    # Nothing registered that the loop above missed.
    registered = {n for n in metrics.registry._names_to_collectors if n.startswith("campusedge_")}
    assert registered <= set(labels) | families
    return set(labels), labels


def targets(board: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(panel title, data source uid, target) of every panel and template variable."""
    for panel in board["panels"]:
        for target in panel["targets"]:
            uid = (target.get("datasource") or panel["datasource"])["uid"]
            yield panel["title"], uid, target
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            yield f"variable {variable['name']}", variable["datasource"]["uid"], variable


def test_every_file_is_valid_json_or_yaml() -> None:
    found = list(documents())
    assert len(found) >= 7 and all(doc for _, doc in found)
    assert len(DASHBOARDS) == 4


def test_provisioning_names_the_sources_and_the_dashboards_use_only_those() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/campusedge.yaml").read_text())
    assert sources["apiVersion"] == 1
    kinds = {s["uid"]: s["type"] for s in sources["datasources"]}
    assert kinds == {"campusedge-influxdb": "influxdb", "campusedge-prometheus": "prometheus"}
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/campusedge.yaml").read_text())
    assert [p["type"] for p in providers["providers"]] == ["file"]
    uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["uid"] not in uids and board["title"] and board["panels"], path
        uids.add(board["uid"])
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for title, uid, target in targets(board):
            assert uid in kinds, f"{path.name} / {title}: unknown data source {uid!r}"
            key = "expr" if kinds[uid] == "prometheus" else "query"
            assert target.get(key), f"{path.name} / {title}: no {key}"


def promql(expr: str) -> tuple[set[str], set[str]]:
    """The metric names and the label names of a PromQL expression."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    labels = set()
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", without_strings):
        labels |= {name.strip() for name in group.split(",") if name.strip()}
    for selector in re.findall(r"\{([^}]*)\}", without_strings):
        labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", selector))
    # Names outside selectors, grouping clauses and range brackets.
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", without_strings)
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    names = {
        word
        for word in re.findall(r"[a-zA-Z_:][\w:]*", bare)
        if word not in PROMQL_WORDS and not re.fullmatch(r"\d+\w*", word)
    }
    return names, labels


def test_prometheus_queries_use_only_exported_metrics_and_labels() -> None:
    names, labels_of = exported()
    used = set()
    for path in DASHBOARDS:
        for title, uid, target in targets(json.loads(path.read_text())):
            if uid != "campusedge-prometheus":
                continue
            metrics, labels = promql(target["expr"])
            where = f"{path.name} / {title}: {target['expr']}"
            unknown = metrics - names - PROMETHEUS_OWN
            assert not unknown, f"{where}: not exported by gateway/metrics.py: {sorted(unknown)}"
            allowed = PROMETHEUS_LABELS | {"le"}
            for metric in metrics & names:
                allowed |= labels_of[metric]
            assert labels <= allowed, f"{where}: unknown labels {sorted(labels - allowed)}"
            used |= metrics
    # Every dashboard family is shown somewhere: the boards follow the registry.
    families = {n.removesuffix("_total").removesuffix("_bucket") for n in used}
    assert {"campusedge_dead_letters", "campusedge_messages_received"} <= families


def influxql(query: str) -> tuple[str, set[str], set[str], set[str]]:
    """(measurement, quoted names, GROUP BY names, values compared with the metric tag)."""
    [measurement] = re.findall(r'FROM\s+"(\w+)"', query)
    quoted = set(re.findall(r'"(\w+)"', query)) - {measurement}
    group = re.search(r"GROUP BY (.*?)(?: fill\(|$| ORDER| LIMIT)", query)
    grouped = set(re.findall(r'"(\w+)"', group.group(1))) if group else set()
    metrics = set(re.findall(r"\"metric\"\s*=\s*'(\w+)'", query))
    return measurement, quoted, grouped, metrics


def test_influx_queries_use_only_the_stores_measurements_tags_and_fields() -> None:
    checked = 0
    for path in DASHBOARDS:
        for title, uid, target in targets(json.loads(path.read_text())):
            if uid != "campusedge-influxdb":
                continue
            query = target["query"]
            where = f"{path.name} / {title}: {query}"
            measurement, quoted, grouped, metrics = influxql(query)
            assert measurement in SCHEMA, f"{where}: no measurement {measurement!r} in the store"
            schema = SCHEMA[measurement]
            # Quoted names are keys, or the AS names the query gives its own columns.
            aliases = set(re.findall(r'AS "(\w+)"', query))
            unknown = quoted - schema.tags - schema.fields - aliases
            assert not unknown, f"{where}: not a tag or field of {measurement}: {sorted(unknown)}"
            assert grouped <= schema.tags, f"{where}: GROUP BY a non-tag {grouped - schema.tags}"
            key = re.search(r'WITH KEY = "(\w+)"', query)
            assert key is None or key.group(1) in schema.tags, where
            assert metrics <= {m.value for m in Metric}, f"{where}: unknown metric {metrics}"
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize(
    ("expr", "metrics", "labels"),
    [
        (
            'sum by (reason) (rate(campusedge_dead_letters_total{reason!="x"}[5m]))',
            {"campusedge_dead_letters_total"},
            {"reason"},
        ),
        ('time() - campusedge_x{device_id!="(unknown)"} > 300', {"campusedge_x"}, {"device_id"}),
    ],
)
def test_the_promql_reader_finds_names_and_labels(
    expr: str, metrics: set[str], labels: set[str]
) -> None:
    assert promql(expr) == (metrics, labels)


def test_a_misspelt_name_would_be_caught() -> None:
    names, _ = exported()
    assert promql("rate(campusedge_messages_recieved_total[5m])")[0] - names
    measurement, quoted, _, _ = influxql('SELECT count("valeu") FROM "reading" WHERE $timeFilter')
    assert quoted - SCHEMA[measurement].fields


def grafana_expanded(query: str) -> str:
    """The query as Grafana sends it, for a one-hour range at one-minute steps, all schools."""
    return (
        query.replace("$timeFilter", "time > now() - 1h")
        .replace("$__interval_ms", "60000")
        .replace("$__interval", "1m")
        .replace("$school", ".*")
    )


@pytest.mark.influxdb
def test_influx_queries_run_on_influxdb(influxd: InfluxProcess) -> None:
    """Every InfluxQL query parses and runs on a real InfluxDB holding the store's points;
    the battery table finds the battery reading."""
    store = InfluxStore(influxd.url, "grafana_check")
    now = datetime.now(UTC)
    store.write(
        [
            StoredMessage(
                "sch-a", DeviceKind.HR_BAND, "hr-01", 1, now, TimeQuality.SYNCED, now,
                (("heart_rate", 120.0, "bpm"), ("battery", 42.0, "%")),
            )
        ]
    )  # fmt: skip
    answers = {}
    for path in DASHBOARDS:
        for title, uid, target in targets(json.loads(path.read_text())):
            if uid == "campusedge-influxdb":
                answers[title] = store.query(grafana_expanded(target["query"]))
    battery = answers["Lowest battery per device (last reading)"]
    assert [row["battery_pct"] for s in battery for row in s.rows()] == [42.0]
    readings = answers["Readings per second, by school"]
    assert {s.tags["school"] for s in readings} == {"sch-a"}
    store.close()
