"""The page list is data kept once (cnnviz_ui/pages_list.py): it matches the pages/ folder and every link to a page."""
from pathlib import Path

from cnnviz_ui import home_view, pages_list

REPO = Path(__file__).resolve().parents[1]


def test_every_page_script_is_listed_once_and_every_entry_exists():
    listed = [entry.file for entry in pages_list.PAGES]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(f"pages/{p.name}" for p in (REPO / "pages").glob("*.py"))


def test_url_paths_are_the_file_names_with_home_first():
    assert pages_list.URL_PATHS[0] == ""
    assert list(pages_list.URL_PATHS[1:]) == [Path(e.file).stem for e in pages_list.PAGES[1:]]
    assert pages_list.TITLES["draw"] == "Draw a digit"


def test_home_page_links_only_to_listed_pages():
    listed = {entry.file for entry in pages_list.PAGES}
    linked = {page for *_, page in home_view.PIPELINE} | {page for page, *_ in home_view.ALSO}
    assert linked <= listed, linked - listed


def test_browser_tools_walk_the_same_list():
    import livetest

    assert livetest.PAGE_PATHS == pages_list.URL_PATHS
