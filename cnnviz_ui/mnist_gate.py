"""Where MNIST is missing: say so plainly, offer a download button with a progress bar, fold the details away.

Students see no paths and no file names; those are for whoever runs the server, in a folded expander.
After a download the cached splits are forgotten, so every page finds MNIST on its next run (no restart).
"""
from __future__ import annotations

import streamlit as st

from cnnviz import download as downloader  # the module, so a test can stub downloader.download
from cnnviz.data import FILE_NAMES, raw_folder

ERROR_KEY = "_mnist_download_error"
RECHECK_KEY = "_mnist_rechecked"


def mnist_present() -> bool:
    """True when the four MNIST files are on disk (4 stat calls: cheap enough for every rerun)."""
    folder = raw_folder()
    return all((folder / name).is_file() for name in FILE_NAMES)


def forget_missing_mnist() -> None:
    """Drop every cached 'MNIST is missing' answer, for every user of this server."""
    from cnnviz_ui import digits, training_view
    digits.test_split.clear()
    training_view.training_data_missing.clear()


def require_mnist(key: str, offline_note: str = "") -> bool:
    """True when MNIST is here; otherwise explain, offer the download, and return False.
    `offline_note` says what the page shows meanwhile; `key` makes the button's key unique per page."""
    if mnist_present():  # the page was told MNIST is missing, yet the files are here now
        st.session_state.pop(ERROR_KEY, None)
        if not st.session_state.get(RECHECK_KEY):  # installed by hand meanwhile: forget the stale answer, once
            st.session_state[RECHECK_KEY] = True
            forget_missing_mnist()
            st.rerun()
        st.error("MNIST is on this server but could not be read. Ask the person who runs the app to download "
                 "it again.")
        _details(None)
        return False
    st.session_state.pop(RECHECK_KEY, None)
    st.warning("MNIST is not available here: the 70,000 handwritten digits this page works with have not been "
               "downloaded to this server yet. " + offline_note)
    if st.button(f"Download MNIST (about {downloader.DOWNLOAD_MB} MB)", key=f"mnist_download_{key}", type="primary"):
        if _download():
            forget_missing_mnist()
            st.rerun()
    error = st.session_state.get(ERROR_KEY)
    if error:
        st.error(_plain(error))
    _details(error)
    return False


def _details(error: str | None) -> None:
    """Paths, file names and commands: folded away, for whoever runs the server."""
    with st.expander("Details for the administrator", expanded=False):
        names = ", ".join(f"`{name}`" for name in FILE_NAMES)
        st.markdown(f"The app reads four uncompressed IDX files ({names}) from `{raw_folder()}`. Put them there "
                    "with `python -m cnnviz.data --download` on a machine with internet access, or point the "
                    "`CNNVIZ_DATA` environment variable at a folder that holds `MNIST/raw/`, then reload the page.")
        if error:
            st.code(error, language=None, wrap_lines=True)


def _download() -> bool:
    """Run the download under a progress bar; True when the files are in place."""
    bar = st.progress(0.0, text="Contacting the MNIST mirrors...")
    shown = [-1]

    def progress(fraction: float, text: str) -> None:
        percent = int(100 * fraction)
        if percent != shown[0]:  # one update per percent, not one per network read
            shown[0] = percent
            bar.progress(fraction, text=f"Downloading MNIST: {percent}% ({text})")

    try:
        downloader.download(progress=progress)
    except Exception as exc:  # offline, a failing mirror, a full disk: said plainly, details folded away
        st.session_state[ERROR_KEY] = str(exc) or type(exc).__name__
        bar.empty()
        return False
    st.session_state.pop(ERROR_KEY, None)
    return True


def _plain(error: str) -> str:
    if "offline" in error:
        return ("The download did not work: this server cannot reach the internet, so MNIST cannot be fetched "
                "from here. Ask the person who runs the app to install it.")
    return "The download did not finish. Try again in a moment, or ask the person who runs the app to install MNIST."
