"""A small document model (headings, text, lists, tables, figures) rendered to self-contained HTML or Markdown."""

from __future__ import annotations

import base64
import html
import mimetypes
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

CSS = """
body { font-family: "Source Sans 3", "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1080px; margin: 2em auto;
       padding: 0 1.5em; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.15em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f1f1f1; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #e3e3e3; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
.warning { background: #fff4e5; border-left: 4px solid #a04000; padding: 0.5em 0.8em; margin: 0.6em 0; }
.meta { color: #555; font-size: 0.92em; } details { margin: 0.8em 0; } summary { cursor: pointer; font-weight: 600; }
.bluf { background: #eef4fa; border-left: 4px solid #0072b2; padding: 0.4em 1em 0.6em; margin: 1em 0; }
.bluf h2 { border: none; margin-top: 0.4em; } .bluf li { margin: 0.25em 0; }
nav.toc { font-size: 0.95em; } nav.toc ol { margin: 0.3em 0 0.8em; padding-left: 1.6em; columns: 2; }
figcaption strong { color: #1a1a1a; }
@media print { body { max-width: none; } figure { page-break-inside: avoid; } }
"""


@dataclass
class Block:
    kind: str  # heading, text, list, table, figure, warning, meta, bluf, toc
    content: object
    extra: dict = field(default_factory=dict)


@dataclass
class Document:
    """An ordered list of blocks; ``to_html`` embeds figures, ``to_markdown`` links copies of them."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(Block("heading", text, {"level": level}))

    def text(self, text: str) -> None:
        self.blocks.append(Block("text", text))

    def meta(self, text: str) -> None:
        self.blocks.append(Block("meta", text))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(Block("list", list(items)))

    def warning(self, text: str) -> None:
        self.blocks.append(Block("warning", text))

    def bluf(self, sentences: list[str], title: str = "Bottom line") -> None:
        """The bottom line up front: a few sentences of the answer, in a box, listed in the contents."""
        if sentences:
            self.blocks.append(Block("bluf", list(sentences), {"title": title}))

    def toc(self) -> None:
        """A table of contents of the level-2 headings (and the bottom line), filled in when rendered."""
        self.blocks.append(Block("toc", None))

    def sections(self) -> list[tuple[str, str]]:
        """(anchor, title) of every level-2 heading and of the bottom line, in order."""
        out = []
        for block in self.blocks:
            if block.kind == "heading" and block.extra["level"] == 2:
                out.append((anchor(block.content), block.content))
            elif block.kind == "bluf":
                out.append((anchor(block.extra["title"]), block.extra["title"]))
        return out

    def table(self, frame: pd.DataFrame, numeric: tuple[str, ...] = (), collapsed: str | None = None) -> None:
        """A table; ``numeric`` columns are right-aligned; ``collapsed`` puts it in a <details> with that title."""
        self.blocks.append(Block("table", frame, {"numeric": set(numeric), "collapsed": collapsed}))

    def figure(self, path: Path, caption: str) -> None:
        self.blocks.append(Block("figure", Path(path), {"caption": caption}))

    # ------------------------------------------------------------------ HTML
    def to_html(self) -> str:
        """One self-contained HTML page: figures are data: URIs, no external files or scripts."""
        out = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(self.title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for block in self.blocks:
            if block.kind == "toc":
                items = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self.sections())
                out.append(f'<nav class="toc"><strong>Contents</strong><ol>{items}</ol></nav>')
            else:
                out.append(_html_block(block))
        out += ["</body>", "</html>", ""]
        return "\n".join(out)

    # ------------------------------------------------------------------ Markdown
    def to_markdown(self, out_file: Path) -> str:
        """Markdown; figures are copied into ``<stem>_figures/`` beside ``out_file`` and linked."""
        out_file = Path(out_file)
        fig_dir = out_file.parent / f"{out_file.stem}_figures"
        e = md_escape
        lines = [f"# {e(self.title, inline=True)}", ""]
        for block in self.blocks:
            if block.kind == "heading":
                lines += ["#" * block.extra["level"] + " " + e(block.content, inline=True), ""]
            elif block.kind in ("text", "meta"):
                lines += [e(block.content), ""]
            elif block.kind == "warning":
                lines += [f"> **Warning:** {e(block.content, inline=True)}", ""]
            elif block.kind == "bluf":
                lines += [f"## {e(block.extra['title'], inline=True)}", ""]
                lines += [f"- {e(item, inline=True)}" for item in block.content] + [""]
            elif block.kind == "toc":
                lines += ["**Contents**", ""]
                lines += [f"{k}. [{e(t, inline=True)}](#{a})" for k, (a, t) in enumerate(self.sections(), 1)] + [""]
            elif block.kind == "list":
                lines += [f"- {e(item, inline=True)}" for item in block.content] + [""]
            elif block.kind == "table":
                if block.extra.get("collapsed"):
                    lines += [f"**{e(block.extra['collapsed'], inline=True)}**", ""]
                lines += [_markdown_table(block.content), ""]
            elif block.kind == "figure":
                fig_dir.mkdir(parents=True, exist_ok=True)
                target = fig_dir / block.content.name
                shutil.copyfile(block.content, target)
                rel = f"{fig_dir.name}/{target.name}"
                caption = e(block.extra["caption"], inline=True)
                alt = block.extra["caption"].split(". ", 1)[-1].split(".")[0]
                lines += [f"![{e(alt, inline=True)}]({rel})", "", f"*{caption}*", ""]
        return "\n".join(lines)


def _html_block(block: Block) -> str:
    e = html.escape
    if block.kind == "heading":
        level = block.extra["level"]
        return f'<h{level} id="{anchor(block.content)}">{e(block.content)}</h{level}>'
    if block.kind == "text":
        return f"<p>{e(str(block.content))}</p>"
    if block.kind == "meta":
        return f'<p class="meta">{e(str(block.content))}</p>'
    if block.kind == "warning":
        return f'<div class="warning"><strong>Warning:</strong> {e(str(block.content))}</div>'
    if block.kind == "bluf":
        title = block.extra["title"]
        items = "".join(f"<li>{e(str(i))}</li>" for i in block.content)
        return f'<section class="bluf"><h2 id="{anchor(title)}">{e(title)}</h2><ul>{items}</ul></section>'
    if block.kind == "list":
        return "<ul>" + "".join(f"<li>{e(str(i))}</li>" for i in block.content) + "</ul>"
    if block.kind == "table":
        table = _html_table(block.content, block.extra["numeric"])
        if block.extra.get("collapsed"):
            return f"<details><summary>{e(block.extra['collapsed'])}</summary>{table}</details>"
        return table
    if block.kind == "figure":
        path: Path = block.content
        mime = mimetypes.guess_type(path.name)[0] or "image/png"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = block.extra["caption"]
        number, sep, rest = caption.partition(". ")
        shown = f"<strong>{e(number)}.</strong> {e(rest)}" if sep and number.startswith("Figure ") else e(caption)
        alt = e(rest.split(".")[0] if sep else caption.split(".")[0])
        return f'<figure><img src="data:{mime};base64,{data}" alt="{alt}"><figcaption>{shown}</figcaption></figure>'
    raise ValueError(block.kind)


def anchor(title: str) -> str:
    """The id of a heading: its words in lower case joined by hyphens (as GitHub makes them)."""
    return "-".join("".join(ch if ch.isalnum() else " " for ch in str(title).lower()).split())


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _html_table(frame: pd.DataFrame, numeric: set[str]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, record, strict=True):
            cls = ' class="num"' if col in numeric else ""
            cells.append(f"<td{cls}>{e(_cell(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# Markdown that could run code or lead elsewhere: raw HTML (<script>, <a href>, <img onerror>), autolinks
# (<javascript:...>), links and images ([text](url), ![alt](url), [ref]: url). Escaping <, >, & as entities
# and [, ], \ with backslashes leaves such text inert and shown as written; a URL scheme that runs code
# also has its colon escaped, so no renderer that links bare URLs turns it into a link.
_MD_ESCAPES = {"\\": "\\\\", "[": "\\[", "]": "\\]", "|": "\\|", "`": "\\`", "<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MD_SPECIAL = re.compile("|".join(re.escape(c) for c in _MD_ESCAPES))
_CODE_SCHEMES = re.compile(r"(?i)\b(javascript|vbscript|data|file):")


def md_escape(value: object, inline: bool = False) -> str:
    """Text from a scenario, result or caption as inert Markdown: shown as written, never markup.

    ``inline``: also fold line breaks into spaces (headings, list items, table cells, captions).
    """
    text = _MD_SPECIAL.sub(lambda m: _MD_ESCAPES[m.group(0)], str(value))
    text = _CODE_SCHEMES.sub(lambda m: m.group(1) + "\\:", text)
    if inline:
        text = " ".join(text.split())
    return text


def _markdown_table(frame: pd.DataFrame) -> str:
    def clean(v) -> str:
        return md_escape(_cell(v), inline=True)

    lines = ["| " + " | ".join(clean(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for record in frame.itertuples(index=False):
        lines.append("| " + " | ".join(clean(v) for v in record) + " |")
    return "\n".join(lines)
