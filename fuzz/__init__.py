"""Fuzzing hepwatch's HL7 reader (`make fuzz`); the invariants are shared with tests/test_reader_properties.py."""
