"""`task graph`: DOT rendered by Debian's graphviz, Mermaid checked against its grammar's basic rules, JSON,
and --run against a real `task serve`."""

import http.client
import json
import re
import shutil
import subprocess

from serve_helpers import Serve

CONFIG = """
tasks:
  extract:
    echo: e
    kind: cron
    schedule: "0 12 * * *"
    description: 'pulls "raw" <data> & #1 \\ back'
  transform: {echo: t, after: [extract]}
  load-db: {echo: l, kind: manual, after: [transform, extract]}
  broken: {command: 'exit 3', after: [extract]}
  report: {echo: r, after: [broken]}
  lonely_one: {echo: x, kind: webhook}
"""

# A schedules.yml entry for a known task can hold any text: it reaches the labels as it is.
HOSTILE_SCHEDULE = "transform: 'bad \" expr \\\\ <x> # `y` end'\n"

DOT = shutil.which("dot")


def dot_json(text):
    """The graph as graphviz itself parsed and laid it out (-Tjson): its node names and edges by name."""
    assert DOT is not None, "graphviz's dot is missing (scripts/setup installs it)"
    r = subprocess.run([DOT, "-Tjson"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    doc = json.loads(r.stdout)
    names = [o["name"] for o in doc.get("objects", [])]
    edges = sorted((names[e["tail"]], names[e["head"]]) for e in doc.get("edges", []))
    return doc, names, edges


MERMAID_ID = r"t_[A-Za-z0-9_]+"
MERMAID_LINE = [
    re.compile(rf"^    {MERMAID_ID}\[\"[^\"]*\"\]$"),  # a node with a quoted label, no quote inside
    re.compile(rf"^    {MERMAID_ID} --> {MERMAID_ID}$"),  # an edge
    re.compile(r"^    classDef [A-Za-z0-9_]+ [a-z-]+:[^ ;]+(,[a-z-]+:[^ ;]+)*$"),
    re.compile(rf"^    class {MERMAID_ID} [A-Za-z0-9_]+$"),
    re.compile(r"^    %% [^\n]*$"),  # a comment
]


def check_mermaid(text):
    """Mermaid's flowchart rules that our output relies on; returns {id: label}, [(from, to)], {id: class}."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes, edges, classes = {}, [], {}
    for line in lines[1:]:
        assert any(p.match(line) for p in MERMAID_LINE), line
        if m := re.match(rf"^    ({MERMAID_ID})\[\"(.*)\"\]$", line):
            assert m.group(1) not in nodes, "a node is declared twice"
            nodes[m.group(1)] = m.group(2)
        elif m := re.match(rf"^    ({MERMAID_ID}) --> ({MERMAID_ID})$", line):
            edges.append((m.group(1), m.group(2)))
        elif m := re.match(rf"^    class ({MERMAID_ID}) (status_\w+)$", line):
            classes[m.group(1)] = m.group(2)
    # No reserved character left raw in a label: entity codes (#name; or #number;) only.
    for label in nodes.values():
        assert not re.search(r"[<>&`]", label.replace("<br/>", "")), label
        assert all(re.match(r"#(quot|\d+);", label[i:]) for i in range(len(label)) if label[i] == "#"), label
    for a, b in edges:
        assert a in nodes and b in nodes
    return nodes, sorted(edges), classes


ALL_EDGES = sorted([("extract", "transform"), ("transform", "load-db"), ("extract", "load-db"),
                    ("extract", "broken"), ("broken", "report")])


def test_the_dot_picture_renders_with_graphviz_with_every_task_and_edge(task):
    task.write_config(CONFIG)
    (task.cwd / "schedules.yml").write_text(HOSTILE_SCHEDULE)
    r = task("graph")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("digraph cascadence {\n")
    _, names, edges = dot_json(r.stdout)
    assert sorted(names) == sorted(["extract", "transform", "load-db", "broken", "report", "lonely_one"])
    assert edges == ALL_EDGES
    svg = subprocess.run([DOT, "-Tsvg"], input=r.stdout, capture_output=True, text=True, timeout=60)
    assert svg.returncode == 0 and svg.stderr == "", svg.stderr
    assert svg.stdout.lstrip().startswith("<?xml") and "</svg>" in svg.stdout
    # The hostile texts arrive whole, as text (graphviz escapes them for XML).
    assert "bad &quot; expr \\\\ &lt;x&gt; # `y` end (UTC)" in svg.stdout
    assert 'xlink:title="pulls &quot;raw&quot; &lt;data&gt; &amp; #1 \\ back"' in svg.stdout
    assert "0 12 * * * (UTC)" in svg.stdout and ">webhook<" in svg.stdout


def test_named_targets_bring_their_dependencies_only(task):
    task.write_config(CONFIG)
    r = task("graph", "load-db", "--format", "dot")
    assert r.returncode == 0, r.stderr
    _, names, edges = dot_json(r.stdout)
    assert names == ["extract", "transform", "load-db"]
    assert edges == sorted([("extract", "transform"), ("transform", "load-db"), ("extract", "load-db")])


def test_the_mermaid_picture_follows_the_flowchart_grammar(task):
    task.write_config(CONFIG)
    (task.cwd / "schedules.yml").write_text(HOSTILE_SCHEDULE)
    task("disable", "report")
    r = task("graph", "--format", "mermaid")
    assert r.returncode == 0, r.stderr
    nodes, edges, _ = check_mermaid(r.stdout)
    assert set(nodes) == {"t_extract", "t_transform", "t_load_2ddb", "t_broken", "t_report", "t_lonely__one"}
    assert edges == sorted([("t_extract", "t_transform"), ("t_transform", "t_load_2ddb"),
                            ("t_extract", "t_load_2ddb"), ("t_extract", "t_broken"), ("t_broken", "t_report")])
    assert nodes["t_transform"] == "transform<br/>manual<br/>bad #quot; expr \\\\ #60;x#62; #35; #96;y#96; end (UTC)"
    assert nodes["t_report"] == "report<br/>manual, disabled"
    assert "    class t_report disabled" in r.stdout.splitlines()


def test_the_json_picture_has_nodes_edges_kinds_and_schedules(task):
    task.write_config(CONFIG)
    r = task("graph", "report", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"nodes", "edges"}
    assert [n["name"] for n in doc["nodes"]] == ["extract", "broken", "report"]
    assert doc["nodes"][0] == {"name": "extract", "kind": "cron", "description": 'pulls "raw" <data> & #1 \\ back',
                               "enabled": True, "after": [],
                               "schedule": {"expression": "0 12 * * *", "timezone": "UTC", "paused": False}}
    assert doc["nodes"][2]["schedule"] is None and doc["nodes"][2]["after"] == ["broken"]
    assert doc["edges"] == [{"from": "extract", "to": "broken"}, {"from": "broken", "to": "report"}]


def test_bad_input_is_refused_with_a_clear_error(task):
    task.write_config(CONFIG)
    cases = [
        (["graph", "ghost"], "error: unknown task 'ghost' (known tasks: extract, transform, load-db, broken, "
                             "report, lonely_one)"),
        (["graph", "--format", "svg"], "error: --format: unknown format 'svg' (known: dot, mermaid, json)"),
        (["graph", "--run", "../../etc"], "error: --run: '../../etc' is not a run id (a UUID, as the API returns)"),
        (["graph", "--run", "1234", "--url", "ftp://x"], "error: --url: 'ftp://x' is not an http:// or https:// URL"),
    ]
    for args, message in cases:
        r = task(*args)
        assert r.returncode == 2, args
        assert r.stderr.strip() == message, args
        assert r.stdout == ""
    r = task("graph", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: task graph")


class ApiServe(Serve):
    """`task serve` with its REST API on a free port."""

    @property
    def port(self):
        line = self.wait_for(lambda l: "listening on http://" in l)
        return int(re.search(r"listening on http://[^ ]*:(\d+)", line).group(1))

    def run(self, name, token=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            conn.request("POST", f"/api/v1/tasks/{name}/runs?wait=true", body=b"", headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, body
            return json.loads(body)["run_id"]
        finally:
            conn.close()


def test_a_run_of_a_real_serve_colours_each_task_by_its_status(task):
    task.write_config(CONFIG)
    serve = ApiServe(task)
    try:
        port = str(serve.port)
        run_id = serve.run("report")
        r = task("graph", "--run", run_id, "--port", port, "--format", "json")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["run"] == {"run_id": run_id, "task": "report", "status": "failed"}
        # Without names, the run's task and what it runs after.
        assert {n["name"]: n["status"] for n in doc["nodes"]} == {
            "extract": "success", "broken": "failed", "report": "skipped"}
        # Named tasks outside the run are shown as such.
        r = task("graph", "load-db", "report", "--run", run_id, "--url", f"http://127.0.0.1:{port}/",
                 "--format", "mermaid")
        assert r.returncode == 0, r.stderr
        _, _, classes = check_mermaid(r.stdout)
        assert classes == {"t_extract": "status_success", "t_transform": "status_not_in_run",
                           "t_load_2ddb": "status_not_in_run", "t_broken": "status_failed",
                           "t_report": "status_skipped"}
        assert f"    %% run {run_id} of report: failed" in r.stdout.splitlines()
        r = task("graph", "--run", run_id, "--port", port)
        doc, names, _ = dot_json(r.stdout)
        fill = {o["name"]: o.get("fillcolor") for o in doc["objects"]}
        assert fill == {"extract": "#c8e6c9", "broken": "#ffcdd2", "report": "#eeeeee"}
        r = task("graph", "--run", "00000000-0000-4000-8000-000000000000", "--port", port)
        assert r.returncode == 2
        assert r.stderr.startswith("error: unknown run '00000000-0000-4000-8000-000000000000' (task serve at "
                                   f"http://127.0.0.1:{port} keeps the last runs started over its API")
    finally:
        assert serve.stop() == 0
    r = task("graph", "--run", run_id, "--port", port)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith(f"error: cannot ask task serve at http://127.0.0.1:{port} for run {run_id} (")


def test_the_run_is_asked_for_with_the_configured_bearer_token(task):
    # Off loopback the API needs the token; `task graph` sends the configuration's.
    task.write_config(CONFIG + "api: {token: s3cret-token}\n")
    serve = ApiServe(task, "--host", "0.0.0.0")
    try:
        port = str(serve.port)
        run_id = serve.run("transform", token="s3cret-token")
        r = task("graph", "--run", run_id, "--port", port, "--format", "json")
        assert r.returncode == 0, r.stderr
        assert {n["name"]: n["status"] for n in json.loads(r.stdout)["nodes"]} == {
            "extract": "success", "transform": "success"}
        task.env["CASCADENCE_API_TOKEN"] = "wrong"
        r = task("graph", "--run", run_id, "--port", port)
        assert r.returncode == 1
        assert r.stderr.strip() == (f"error: task serve at http://127.0.0.1:{port} refused the API token "
                                    "(401; the token is api.token or $CASCADENCE_API_TOKEN)")
        assert "s3cret" not in r.stderr and "wrong" not in r.stderr
    finally:
        assert serve.stop() == 0
