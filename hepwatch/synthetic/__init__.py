"""Synthetic HL7 lab and dosing feeds for hepwatch: deterministic for a seed, realistic, with ground truth.

`generate_feeds(out_dir, patients, days, seed, start)` writes `labs/`, `dosing/` and `manifest.json` in the
layout of contract section 2, a day at a time. Module map: cohort (quotas by `ranks`, then each patient from
its own stream: population, injuries, schedule) -> for each day: lab_orders / lab_lifecycle (what each lab
sends, with lifecycle and defects) -> lab_feed (messages by sending day, control IDs, resends) ->
lab_messages (ER7 text) -> lab_files (framing); dosing_rows -> dosing_files; manifest and injury_truth (the
ground truth); feed_parts runs the day loop in parts (processes), feed_writer ties them together; layout
lists a day's files.
"""

from hepwatch.synthetic.feed_writer import generate_feeds, lab_messages
from hepwatch.synthetic.layout import day_files, feed_days

__all__ = ["day_files", "feed_days", "generate_feeds", "lab_messages"]
