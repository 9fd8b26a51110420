import pytest

from generator.svg import unsafe_svg

HEAD = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" viewBox="0 0 10 10"')


def svg(body: str, attrs: str = "") -> bytes:
    return f"{HEAD} {attrs}>{body}</svg>".encode()


INKSCAPE = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Created with Inkscape (http://www.inkscape.org/) -->
<svg width="210mm" height="297mm" viewBox="0 0 210 297" version="1.1" id="svg5"
   inkscape:version="1.2.2 (b0a8486541, 2022-12-01)" sodipodi:docname="党徽.svg"
   xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
   xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
   xmlns:xlink="http://www.w3.org/1999/xlink" xmlns="http://www.w3.org/2000/svg"
   xmlns:svg="http://www.w3.org/2000/svg" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
   xmlns:cc="http://creativecommons.org/ns#" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <sodipodi:namedview id="namedview7" pagecolor="#ffffff" bordercolor="#666666"
     inkscape:pageopacity="0.0" inkscape:document-units="mm" inkscape:zoom="0.73"
     inkscape:current-layer="layer1"><inkscape:grid id="grid1" type="xygrid" /></sodipodi:namedview>
  <defs id="defs2">
    <linearGradient inkscape:collect="always" id="linearGradient1">
      <stop style="stop-color:#de2910;stop-opacity:1" offset="0" id="stop1" />
      <stop style="stop-color:#ffde00;stop-opacity:1" offset="1" id="stop2" />
    </linearGradient>
    <radialGradient inkscape:collect="always" xlink:href="#linearGradient1" id="radialGradient3"
       cx="105" cy="148" r="50" gradientUnits="userSpaceOnUse" />
  </defs>
  <metadata id="metadata1"><rdf:RDF><cc:Work rdf:about="">
    <dc:format>image/svg+xml</dc:format>
    <dc:type rdf:resource="http://purl.org/dc/dcmitype/StillImage" />
    <dc:title>党徽</dc:title>
    <cc:license rdf:resource="http://creativecommons.org/licenses/by-sa/4.0/" />
  </cc:Work></rdf:RDF></metadata>
  <g inkscape:label="图层 1" inkscape:groupmode="layer" id="layer1">
    <path style="fill:url(#radialGradient3);stroke:#000000;stroke-width:0.26"
       d="M 60,100 H 150 V 190 H 60 Z" id="path1" sodipodi:nodetypes="ccccc" />
    <text xml:space="preserve" style="font-size:10.58px;font-family:'Noto Sans CJK SC'"
       x="70" y="230" id="text1"><tspan sodipodi:role="line" id="tspan1">不忘初心</tspan></text>
  </g>
</svg>
"""


def test_inkscape_file_is_safe():
    assert unsafe_svg(INKSCAPE.encode()) is None
    assert unsafe_svg(INKSCAPE.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")) is None


def test_plain_drawing_is_safe():
    body = ('<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient>'
            '<style><![CDATA[ .a { fill: url( "#g" ) } ]]></style></defs>'
            '<circle id="a" class="a" r="4" fill="url(#g)" filter="url(\'#g\')"/><use href="#a" x="5"/>'
            '<image href="data:image/png;base64,iVBORw0KGgo=\n AAAA" width="1" height="1"/>')
    assert unsafe_svg(svg(body)) is None


def test_a_public_doctype_without_definitions_is_safe():
    # Older Inkscape and Illustrator write one; ElementTree never fetches the DTD.
    doctype = b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    assert unsafe_svg(b'<?xml version="1.0"?>\n' + doctype + svg('<rect width="1" height="1"/>')) is None


def test_illustrator_metadata_is_safe():
    body = '<metadata><i:pgf xmlns:i="http://ns.adobe.com/AdobeIllustrator/10.0/">eJzt</i:pgf></metadata>'
    assert unsafe_svg(svg(body)) is None


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&lol2;</text></svg>"""


@pytest.mark.parametrize("data, named", [
    (svg("<script>alert(1)</script>"), "<script>"),
    (svg("<rect/>", 'onload="alert(1)"'), "onload"),
    (svg('<rect onClick="alert(1)"/>'), "onClick"),
    (svg('<a href="javascript:alert(1)"><rect/></a>'), "<a>"),
    (svg('<use href="http://evil.example/x.svg#a"/>'), "http://evil.example/x.svg#a"),
    (svg('<use xlink:href="x.svg#a"/>'), "xlink:href"),
    (svg('<use href="data:image/png;base64,AAAA"/>'), "data:"),
    (svg('<image href="http://evil.example/x.png"/>'), "http://evil.example/x.png"),
    (svg('<image href="data:image/svg+xml;base64,PHN2Zz4="/>'), "data:image/svg+xml"),
    (svg('<filter id="f"><feImage href="//evil.example/x.png"/></filter>'), "//evil.example/x.png"),
    (svg('<foreignObject><body xmlns="http://www.w3.org/1999/xhtml">x</body></foreignObject>'),
     "foreignObject"),
    (svg('<set attributeName="href" to="javascript:alert(1)"/>'), "<set>"),
    (svg('<animate attributeName="href" values="javascript:alert(1)"/>'), "<animate>"),
    (svg('<rect style="fill:url(http://evil.example/bg.png)"/>'), "url(http://evil.example/bg.png)"),
    (svg('<rect fill="URL(\'https://evil.example/p\')"/>'), "https://evil.example/p"),
    (svg('<rect style="fill:u\\72l(http://evil.example/p)"/>'), "反斜杠"),
    (svg("<style>@import url(x.css);</style>"), "@import"),
    (svg('<style><![CDATA[rect { fill: url( "http://evil.example/a" ) }]]></style>'), "http://evil.example/a"),
    (svg("<style>rect { cursor: image-set('http://evil.example/c.png' 1x) }</style>"), "image-set("),
    (svg('<use href="&#106;avascript:alert(1)"/>'), "javascript:"),
    (svg('<use href="java&#9;script:alert(1)"/>'), "javascript:"),
    (svg("<metadata><rdf:RDF><script>alert(1)</script></rdf:RDF></metadata>"), "<script>"),
    (svg('<g xml:base="http://evil.example/"><use href="#a"/></g>'), "xml:base"),
    (svg("<blink/>"), "<blink>"),
    (b'<?xml-stylesheet href="x.css"?>' + svg(""), "xml-stylesheet"),
    (BILLION_LAUGHS, "DOCTYPE"),
    (BILLION_LAUGHS.replace(b'<!DOCTYPE svg [', b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd" ['),
     "DOCTYPE"),
    (b"\x89PNG\r\n\x1a\n not xml", "不是有效的"),
    (b"<svg><rect></svg>", "不是有效的"),
    ('<?xml version="1.0" encoding="ISO-8859-1"?>'.encode() + svg(""), "ISO-8859-1"),
    (b'<svg xmlns="http://www.w3.org/2000/svg">\xff</svg>', "UTF-8"),
    (b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', "<html>"),
    (b"<svg><rect/></svg>", "<svg>"),  # no SVG namespace
])
def test_unsafe(data, named):
    reason = unsafe_svg(data)
    assert reason is not None and named in reason, reason


def test_long_values_are_cut_short():
    reason = unsafe_svg(svg(f'<use href="http://evil.example/{"a" * 500}"/>'))
    assert reason.endswith("…") and len(reason) < 70
