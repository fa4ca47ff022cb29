"""Pictures, in one place: matplotlib draws off-screen (Agg, no display needed) and every PNG is written
atomically (a picture half written is never left behind)."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .files import atomic_write_bytes  # noqa: E402

DPI = 100
__all__ = ["plt", "save", "DPI"]


def save(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path
