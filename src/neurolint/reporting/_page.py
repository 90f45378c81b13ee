"""The report's single HTML page: a Jinja2 template with autoescaping on.

Every value is escaped unless it is one of our own data URIs (``img`` sources, built from
PNG bytes we drew), so channel names, annotations and paths from a file render as text.
The inline script only checks that the plots decoded and records script errors on the
page (``data-plots``, ``data-errors`` on ``<html>``), which the browser test reads.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render"]

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="neurolint {{ versions.neurolint }}">
<title>neurolint report: {{ header.file }}</title>
<script>
window.addEventListener("error", function (e) {
  var h = document.documentElement;
  h.dataset.errors = (h.dataset.errors || "") + String(e.message) + ";";
});
</script>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #222; margin: 0 auto; max-width: 1040px; padding: 1.2em 1.5em 3em; }
h1 { font-size: 1.45em; margin: 0 0 .2em; word-break: break-all; }
h2 { font-size: 1.15em; margin: 1.8em 0 .5em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1em; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { text-align: left; padding: .25em .8em .25em 0; border-bottom: 1px solid #eee;
         vertical-align: top; }
th { font-weight: 600; color: #555; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grade { display: inline-block; font-size: 1.6em; font-weight: 700; color: #fff;
         padding: .1em .5em; border-radius: .3em; margin-right: .4em; }
.grade-A { background: #1b7837; } .grade-B { background: #5aae61; }
.grade-C { background: #d9a400; } .grade-D { background: #e66101; }
.grade-F { background: #b2182b; }
.swatch { display: inline-block; width: .9em; height: .9em; border-radius: .15em;
          vertical-align: -.1em; margin-right: .4em; }
.plot { max-width: 100%; height: auto; display: block; margin: .4em 0; }
.row { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start; }
.muted { color: #777; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
              font-size: .92em; word-break: break-all; }
.skipped { color: #8a5a00; }
</style>
</head>
<body>
<header>
<h1>{{ header.file }}</h1>
<p><span class="grade grade-{{ header.grade }}">{{ header.grade }}</span>
<strong>score {{ "%.0f"|format(header.score) }}/100</strong>
&middot; {{ header.modality }} &middot; {{ header.duration }} &middot;
{{ header.size }} &middot; {{ header.sampling_rate }}</p>
<p>{{ header.n_bad }} bad channel{{ "" if header.n_bad == 1 else "s" }},
{{ header.n_events }} event{{ "" if header.n_events == 1 else "s" }}
({{ "%.1f"|format(header.event_percent) }}% of the recording){% if log_rows %},
corrected in {{ log_rows|length }} step{{ "" if log_rows|length == 1 else "s" }}{% endif %}.</p>
</header>

<section id="channels">
<h2>Bad channels</h2>
<div class="row">
<div>
{% if bad_rows %}
<table>
<tr><th>channel</th><th>type</th><th>reasons</th><th>scores</th></tr>
{% for r in bad_rows %}
<tr><td class="mono">{{ r.name }}</td><td>{{ r.type }}</td><td>{{ r.reasons }}</td>
<td class="muted">{{ r.scores }}</td></tr>
{% endfor %}
</table>
{% else %}<p>None found.</p>{% endif %}
</div>
{% if sensor_map %}
<img class="plot" alt="sensor map, bad channels in red" src="{{ sensor_map }}">
{% endif %}
</div>
</section>

{% if heatmap %}
<section id="quality">
<h2>Quality over time</h2>
<img class="plot" alt="channel by time quality heatmap with events" src="{{ heatmap }}">
</section>
{% endif %}

<section id="events">
<h2>Artifacts by kind</h2>
{% if kind_rows %}
<table>
<tr><th>kind</th><th>count</th><th>total (s)</th><th>of recording</th></tr>
{% for r in kind_rows %}
<tr><td><span class="swatch" style="background: {{ r.colour }}"></span>{{ r.kind }}</td>
<td class="num">{{ r.count }}</td><td class="num">{{ "%.1f"|format(r.seconds) }}</td>
<td class="num">{{ "%.1f"|format(r.percent) }}%</td></tr>
{% endfor %}
</table>
{% else %}<p>No artifact events found.</p>{% endif %}
</section>

{% if spectra %}
<section id="spectra">
<h2>Power spectra{% if log_rows %} before and after correction{% endif %}</h2>
<p class="muted">Median over good channels of Welch spectra from up to 48 segments of 4 s
spread through the recording.</p>
<img class="plot" alt="power spectra" src="{{ spectra }}">
</section>
{% endif %}

{% if examples %}
<section id="examples">
<h2>Examples</h2>
<p class="muted">Grey: recorded; blue: corrected; orange (below each channel): removed. The
finding's span is shaded in its kind's colour.</p>
{% for ex in examples %}
<h3>{{ ex.title }}</h3>
{% if ex.why %}<p class="muted">{{ ex.why }}</p>{% endif %}
<img class="plot" alt="example segment" src="{{ ex.image }}">
{% endfor %}
</section>
{% endif %}

{% if traces %}
<section id="traces">
<h2>Frames and volumes</h2>
{% for t in traces %}
<h3>{{ t.title }}</h3>
<img class="plot" alt="{{ t.title }}" src="{{ t.image }}">
{% endfor %}
</section>
{% endif %}

{% if log_rows %}
<section id="correction">
<h2>Correction log</h2>
<table>
<tr><th>step</th><th>method</th><th>regions</th><th>energy removed</th><th>parameters</th></tr>
{% for r in log_rows %}
<tr><td>{{ r.name }}</td>
<td>{% if r.skipped %}<span class="skipped">skipped: {{ r.skipped }}</span>
{% else %}{{ r.method }}{% endif %}</td>
<td class="num">{{ r.regions }}</td><td>{{ r.energy }}</td>
<td class="mono muted">{{ r.parameters }}</td></tr>
{% endfor %}
</table>
</section>
{% endif %}

<section id="provenance">
<h2>Provenance</h2>
<table>
<tr><th>produced by</th><td class="mono">{{ command }}</td></tr>
<tr><th>source</th><td class="mono">{{ header.path }}</td></tr>
<tr><th>neurolint</th><td>{{ versions.neurolint }}</td></tr>
{% for name, sha in versions.models.items() %}
<tr><th>model {{ name }}</th><td class="mono">sha256 {{ sha }}</td></tr>
{% endfor %}
<tr><th>libraries</th><td>
{% for k, v in versions.libraries.items() %}{{ k }} {{ v }}{{ ", " if not loop.last }}{% endfor %}
</td></tr>
<tr><th>written</th><td>{{ written }}</td></tr>
</table>
</section>

<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    var r = imgs[i].getBoundingClientRect();
    if (imgs[i].complete && imgs[i].naturalWidth > 0 && r.width > 0 && r.height > 0) ok++;
  }
  document.documentElement.dataset.plots = ok + "/" + imgs.length;
});
</script>
</body>
</html>
"""


def render(context: dict[str, Any]) -> str:
    """The page for ``context`` (see :func:`neurolint.reporting.build_report`)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_TEMPLATE).render(**context)
