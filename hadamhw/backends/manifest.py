"""The format name every backend writes into a design's manifest.json.

The design folder itself (its atomic writer, the digests and the one reader that checks the
manifest against hadamhw/ir/design-manifest-v1.schema.json) is hadamhw.design.
"""

DESIGN_FORMAT = "hadamhw-design"
