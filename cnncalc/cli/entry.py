"""The installed script. A TAB the shell asks about is answered here when it can be, without importing typer
(cli.complete.fast); everything else runs the typer app in cli.app."""

from __future__ import annotations


def main() -> None:
    import os

    if "_CNNCALC_COMPLETE" in os.environ:
        from cnncalc.cli.complete import fast

        answer = fast(dict(os.environ))
        if answer is not None:
            text, code = answer
            data = text.encode("utf-8", "surrogateescape")
            try:
                while data:
                    data = data[os.write(1, data) :]
            except OSError:  # the shell went away: nothing to complete any more
                pass
            os._exit(code)
    from cnncalc.cli.app import main as run

    run()
