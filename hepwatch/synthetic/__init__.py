"""Synthetic HL7 lab and dosing feeds for hepwatch: deterministic for a seed, realistic, with ground truth.

`generate_feeds(out_dir, patients, days, seed, start)` writes `labs/`, `dosing/` and `manifest.json` in the
layout of contract section 2. Module map: population (who, baselines, exposure) -> injuries (planted
kratom injuries, mild rises) -> schedule (test dates) -> lab_orders / lab_lifecycle (what each lab sends,
with lifecycle and defects) -> lab_messages (hl7apy) -> lab_files (framing); dosing_rows -> dosing_files;
manifest and injury_truth (the ground truth); feed_writer ties them together.
"""

from hepwatch.synthetic.feed_writer import generate_feeds

__all__ = ["generate_feeds"]
