"""The output the docs show is what wsync prints: each ```text block under
`<!-- output: NAME -->` is compared with a fresh run of the docs scenario (tools/docs_regen.py).
When one fails, `python -m tools.docs_regen` rewrites the blocks from a real run."""

from __future__ import annotations

import dataclasses

from tools.docs_regen import canonical, find_drift, normalise, output_blocks

# The commands whose output a new user should see before running them.
SHOWN = {"demo", "feed-preview", "plan", "status", "jobs"}


def test_the_docs_show_the_output_of_the_main_commands(docs_run):
    names = [block.notes["output"] for block in output_blocks()]
    assert sorted(names) == sorted(set(names)), "each output is shown once"
    assert set(names) >= SHOWN
    assert set(names) <= set(docs_run.outputs)


def test_every_output_block_says_what_wsync_prints(docs_run):
    drift = find_drift(docs_run)
    assert not drift, ("the docs no longer show what wsync prints; run `python -m tools.docs_regen`:\n"
                       + "".join(d.diff() for d in drift))


def test_a_changed_line_is_drift(docs_run):
    changed = dataclasses.replace(docs_run, outputs=dict(docs_run.outputs))
    changed.outputs["plan"] = changed.outputs["plan"].replace("update", "change", 1)
    assert [d.name for d in find_drift(changed)] == ["plan"]


def test_what_varies_between_runs_is_a_placeholder_and_the_table_stays_aligned():
    demo = ("│ requests                     │ 2 read, 54 write                                  │\n"
            "│ duration                     │ 0.715 s                                           │\n")
    shown = normalise(demo)
    assert "0.715" not in shown and "│ <t> s " in shown
    assert [len(line) for line in shown.splitlines()] == [len(line) for line in demo.splitlines()]
    jobs = ("  3   wholesaler   completed   100     86     1     0     0     0s        -   12-02 03:23\n"
            "  1   wholesaler   completed   100     85    85     0     0    15s   5100.0   12-02 03:22\n")
    rows = normalise(jobs).splitlines()
    assert rows[0].endswith("<t>s      <n>   MM-DD hh:mm") and rows[1].endswith("<t>s      <n>   MM-DD hh:mm")
    assert len(rows[0]) == len(rows[1]) == len(jobs.splitlines()[0])
    status = "  started 2026-12-02T03:22:58+00:00, ended 2026-12-02T03:22:58+00:00, 0 s\n"
    assert normalise(status) == ("  started YYYY-MM-DDThh:mm:ss+00:00, ended YYYY-MM-DDThh:mm:ss+00:00, "
                                 "<t> s, <n>/min\n")
    assert normalise("run `wsync demo --dir /tmp/x1/wsync-demo` again", {"/tmp/x1": "<cwd>"}) == \
        "run `wsync demo --dir <cwd>/wsync-demo` again\n"


def test_padding_and_rule_widths_are_not_drift():
    assert canonical("─────\n a    b  \n") == canonical("──\n a b\n")
    assert canonical(" a b\n") != canonical(" a c\n")
