#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Turns the web display's page, stylesheet and script into C arrays (web-assets.h), so the
# daemon serves them from memory and needs no files at run time.
import os
import re
import sys

out, inputs = sys.argv[1], sys.argv[2:]
lines = ["/* Generated from drivers/display/web/ by embed.py: do not edit. */", "#pragma once",
         "#include <stddef.h>", ""]
for path in inputs:
    name = "web_asset_" + re.sub(r"[^a-z0-9]", "_", os.path.basename(path).lower())
    with open(path, "rb") as f:
        data = f.read()
    lines.append(f"static const char {name}[] = {{")
    for i in range(0, len(data), 16):
        lines.append("\t" + ", ".join(f"0x{b:02x}" for b in data[i:i + 16]) + ",")
    lines.append("\t0x00,")
    lines.append("};")
    lines.append(f"static const size_t {name}_len = {len(data)};")
    lines.append("")
with open(out, "w") as f:
    f.write("\n".join(lines))
