"""cnnviz: entry point. `streamlit run app.py`."""
import streamlit as st

from cnnviz_ui import streamlit_internals

# A fresh server runs its first script in pages-folder mode and must start again through st.navigation: done
# first, so that this wasted run imports nothing more (cold start, bench/cold_start.py).
streamlit_internals.leave_pages_folder_mode()
streamlit_internals.deliver_finished_runs()   # a fragment's answer is not lost to the next run (once per process)

from cnnviz_ui import class_follow, links, pages_list  # noqa: E402
from cnnviz_ui.memory import tune_malloc  # noqa: E402
from cnnviz_ui.shell import apply_style, freeze_new_imports, lecture_bar, lecture_mode_asked, lecture_toggle  # noqa: E402

tune_malloc()  # freed memory goes back to the OS: sessions that leave leave nothing behind

# In lecture mode the sidebar folds away (the whole 1280 px width for the lesson); the lecture switch then
# sits in a thin bar at the top of the page, with the link for students beside it.
lecture = lecture_mode_asked()
st.set_page_config(page_title="cnnviz: a CNN, step by step", page_icon=streamlit_internals.known_emoji_icon("🔢"),
                   layout="wide", initial_sidebar_state="collapsed" if lecture else "auto")

PAGES = {section: [st.Page(entry.file, title=entry.title, icon=entry.icon, default=entry is pages_list.HOME)
                   for entry in entries]
         for section, entries in pages_list.SECTIONS.items()}

link_check = links.LinkCheck()  # what the opening link asked for, read before any widget takes its part

bar = lecture_bar() if lecture else st.sidebar
with bar:
    lecture_toggle()

page = st.navigation(PAGES, expanded=True)   # every section in view: no "View more" hiding pages
apply_style()
class_follow.follow(page)  # in a class: the instructor's lead switch, or the student's poller and pause banner
# a chart or a table may come: pandas whole first (streamlit_internals). getattr: app.py also runs bare, as the
# __main__ that a spawned process re-runs after an AppTest (a Page there has no attributes)
if getattr(page, "url_path", "") != pages_list.HOME.url_path:
    streamlit_internals.import_pandas_whole()
try:
    page.run()
finally:
    # torch & co. out of the collector's way, sessions not pinned (see shell.py); after the page, so that the
    # first run's full collection does not hold up the first screen
    freeze_new_imports()
    streamlit_internals.import_pandas_soon()   # the home page's cold start does not wait for pandas
    link_check.report()
    class_follow.publish(page)  # the instructor's view, as the URL now holds it, for the students following
    if lecture:  # after the page: its settings are in the URL by now
        with bar:
            links.student_link(page.url_path)
