#!/usr/bin/env python3
"""Make tests/fonts/gushihui-test-serif.otf: the characters the tests and the
default theme's templates use, cut from Noto Serif CJK SC (SIL Open Font
License 1.1, see OFL.txt), so that the PDF tests need no system font.

    apt-get install fonts-noto-cjk && python3 tests/fonts/make_subset.py
"""
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SOURCE, INDEX = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2  # 2: the SC face

text = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "themes/default/templates").iterdir()))
text += (ROOT / "tests/test_anthology.py").read_text(encoding="utf-8")
text += (ROOT / "tests/conftest.py").read_text(encoding="utf-8")
chars = {c for c in text if ord(c) > 0x7f} | {chr(c) for c in range(0x20, 0x7f)} | set("，。、：；！？“”‘’（）《》——…·　")
chars |= set("年月日")  # dates as chinese.py writes them (2017年3月15日), in no template
chars.discard("\U0010fffd")  # the test of a missing character needs it missing

font = TTFont(SOURCE, fontNumber=INDEX)
options = subset.Options()
options.name_IDs = ["*"]
options.layout_features = ["*"]
subsetter = subset.Subsetter(options)
subsetter.populate(text="".join(sorted(chars)))
subsetter.subset(font)
font.save(HERE / "gushihui-test-serif.otf")
print(f"{len(chars)} characters, {(HERE / 'gushihui-test-serif.otf').stat().st_size // 1024} KB")
