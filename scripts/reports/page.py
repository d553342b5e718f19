"""A self-contained HTML page: inline style, inline SVG plots, nothing fetched from a network."""
import html

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; }
.bad { color: #b00020; font-weight: 600; } .good { color: #1b5e20; } .note { color: #666; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
"""


def esc(value):
    return html.escape(str(value))


def table(headers, rows, numeric=()):
    """An HTML table; cells are escaped unless wrapped in Raw; columns in `numeric` (indices)
    are right-aligned."""
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ' class="num"' if i in numeric else ""
            text = cell.text if isinstance(cell, Raw) else esc(cell)
            cells.append(f"<td{cls}>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


class Raw:
    """HTML that a table cell takes as is."""

    def __init__(self, text):
        self.text = text


def figure(svg_text, caption=""):
    cap = f"<figcaption class=note>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure>{svg_text}{cap}</figure>"


def document(title, parts):
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
