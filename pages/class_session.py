"""Class: the instructor leads (follow me, pause), the class answers (predict, then reveal), the class's drawings
and runs come together (the digit wall, the runs board). Everything lives in the class store."""
import streamlit as st

from cnnviz.class_store import StoreUnavailable
from cnnviz.classroom import ClassError, normalize_code
from cnnviz_ui import class_follow, class_panels as panels, links
from cnnviz_ui.class_view import JOIN_PARAM
from cnnviz_ui.shell import prose

st.title("Class")
prose("One instructor leads, the whole class takes part. The instructor starts a class and puts its code on the "
      "projector; students join with it (no names, no accounts). While the instructor moves between pages and "
      "changes a view, every student's page follows; a student can break away and come back. The instructor "
      "asks a question, and the class's answers stay hidden until the reveal. Everyone draws the digit asked for, "
      "and the wall shows how the model reads the class's handwriting.")

try:
    class_follow.store()
    seat = class_follow.seat()
except StoreUnavailable as exc:
    st.error(f"**The class store cannot be reached, so classes are off for now.** {exc} Every other page works "
             "as usual; the administrator can check CNNVIZ_CLASS_STORE.", icon=":material/cloud_off:")
    st.stop()

joining = links.restore(JOIN_PARAM, normalize_code)  # the QR code's link: /class_session?join=CODE
try:
    if seat is None:
        st.html(class_follow.cookie_script(None), unsafe_allow_javascript=True)  # a seat left, or one that ended
        panels.start_or_join(joining)
    else:
        links.write(JOIN_PARAM, None)
        st.html(class_follow.cookie_script(seat), unsafe_allow_javascript=True)  # this seat survives a reload
        if seat.instructor:
            panels.instructor(seat)
        else:
            panels.student(seat)
except ClassError as exc:  # the class ended meanwhile, or an action was refused: said, never a traceback
    st.error(str(exc))
except StoreUnavailable as exc:
    st.error(f"**The class store cannot be reached just now.** {exc}", icon=":material/cloud_off:")
