# No feed file has a line this long: an HL7 segment, even one carrying a base64 report, or a CSV row. A file
# that does is unreadable, so reading is never asked to hold one line of any length (memory stays bounded).
MAX_LINE_BYTES = 32 << 20
