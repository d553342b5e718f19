"""matplotlib figures rendered to inline SVG (text kept as text, so the page stays small and
searchable)."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.grid": True,
                     "grid.alpha": 0.3, "figure.dpi": 100})


def svg(fig):
    """The figure as an <svg> element (no XML prologue); closes the figure."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg"):]


def figure(width=9, height=4, rows=1, cols=1, **kw):
    return plt.subplots(rows, cols, figsize=(width, height), **kw)
