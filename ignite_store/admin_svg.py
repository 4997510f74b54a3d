"""An SVG picture of one cache group's partitions: primaries/backups per node, and every partition's copies."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PRIMARY, BACKUP = "#417690", "#79aec8"  # the admin's own blues
OK, NO_BACKUP, LOST = "#70bf2b", "#efb80b", "#ba2121"
WIDTH, LABEL_W, BAR_H, CELL, COLUMNS = 720, 160, 18, 10, 64


def _text(x: float, y: float, text: str, **attrs) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attrs.items())
    return f'<text x="{x}" y="{y}" font-size="12" font-family="sans-serif"{extra}>{escape(text)}</text>'


def partition_svg(group: dict) -> SafeString:
    """Stacked bars (primaries, backups) per node, then one cell per partition coloured by its copies."""
    total = max(group["partitions"], 1)
    bar_w = WIDTH - LABEL_W - 150
    parts = []
    y = 4
    for node in group["nodes"]:
        primary_w = bar_w * node["primary"] / total
        backup_w = bar_w * node["backup"] / total
        parts.append(_text(0, y + 13, node["consistent_id"][:22]))
        parts.append(
            f'<rect x="{LABEL_W}" y="{y}" width="{primary_w:.1f}" height="{BAR_H}" fill="{PRIMARY}">'
            f"<title>{node['primary']} primary partitions</title></rect>"
        )
        parts.append(
            f'<rect x="{LABEL_W + primary_w:.1f}" y="{y}" width="{backup_w:.1f}" height="{BAR_H}" fill="{BACKUP}">'
            f"<title>{node['backup']} backup partitions</title></rect>"
        )
        parts.append(_text(LABEL_W + bar_w + 8, y + 13, f"{node['primary']} primary / {node['backup']} backup"))
        y += BAR_H + 6
    if not group["nodes"]:
        parts.append(_text(0, y + 13, "no node owns a partition of this group", fill=LOST))
        y += BAR_H + 6

    y += 8
    without_backup, lost = set(group["without_backup"]), set(group["lost"])
    for partition in range(group["partitions"]):
        row, column = divmod(partition, COLUMNS)
        x, cy = column * (CELL + 1), y + row * (CELL + 1)
        if partition in lost:
            fill, title = LOST, f"partition {partition}: lost"
        elif partition in without_backup:
            fill, title = NO_BACKUP, f"partition {partition}: no backup"
        else:
            fill, title = OK, None
        tooltip = f"<title>{title}</title>" if title else ""
        parts.append(f'<rect x="{x}" y="{cy}" width="{CELL}" height="{CELL}" fill="{fill}">{tooltip}</rect>')
    rows = -(-group["partitions"] // COLUMNS)
    y += rows * (CELL + 1) + 16

    legend = [
        (PRIMARY, "primary"), (BACKUP, "backup"), (OK, "all copies"),
        (NO_BACKUP, f"no backup ({len(without_backup)})"), (LOST, f"lost ({len(lost)})"),
    ]
    x = 0
    for colour, label in legend:
        parts.append(f'<rect x="{x}" y="{y - 10}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y, label))
        x += 24 + 7 * len(label)
    height = y + 8
    label = f"Partitions of {group['group']}"
    return mark_safe(  # noqa: S308 - every text node above is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">' + "".join(parts) + "</svg>"
    )
