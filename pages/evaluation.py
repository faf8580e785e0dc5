"""How good is the active model on the MNIST test digits, and which digits does it get wrong?"""
import numpy as np
import streamlit as st

from cnnviz.data import TEST_SIZE, scale_pixels
from cnnviz.evaluate import cell_examples, largest_mistake, least_confident_correct, pixels_from_text, summarize
from cnnviz_ui import eval_view as view
from cnnviz_ui import links, model_charts, visual
from cnnviz_ui.digits import test_split
from cnnviz_ui.export import image_download, table_download, tile
from cnnviz_ui.images import digit_image
from cnnviz_ui.mnist_gate import require_mnist
from cnnviz_ui.models import active_model, show_which_model
from cnnviz_ui.shell import lecture_mode, prose, show_chart

big = lecture_mode()
st.title("Evaluation")
prose(f"The test set holds {TEST_SIZE:,} digits the network never saw during training. The confusion matrix counts, "
      "for every true digit (row), what the network answered (column): the diagonal holds the correct answers, "
      "everything else is a mistake. Click a cell (or pick it below the matrix) to see the digits behind it: off "
      "the diagonal the mistakes the model was surest about, on it the correct digits it was least sure about. "
      "Any digit opens on the *Draw a digit* page, in the inspector, to see what pushed the model to its answer.")

loaded = active_model()
show_which_model(loaded, "ev")
is_shipped = loaded.shipped
test, missing = test_split()
size = 84 if big else 70

if test is not None:
    probs = view.test_probabilities(loaded, test, is_shipped)
    labels = test.labels
    report = summarize(probs, labels)
else:
    recorded = loaded.metadata.get("evaluation")
    require_mnist("evaluation", "Below is the evaluation recorded with the checkpoint when it was trained."
                  if recorded else "")
    if not recorded:
        st.info("This model carries no recorded evaluation.")
        st.stop()
    report = recorded
    probs = labels = None

cm = np.asarray(report["confusion"])
summary = (f"Test accuracy **{visual.percent(report['accuracy'], 2)}**: {report['correct']:,} of {report['total']:,} "
           f"correct, {report['total'] - report['correct']:,} mistakes.")
if not big:
    top = st.columns(3)
    top[0].metric("Test accuracy", visual.percent(report["accuracy"], 2))
    top[1].metric("Correct", f"{report['correct']:,} of {report['total']:,}")
    top[2].metric("Mistakes", f"{report['total'] - report['correct']:,}")

left, right = st.columns([1.1, 1], gap="large")
with left, st.container(key="lesson"):
    t0, p0 = largest_mistake(cm)
    pick = st.columns(2)
    true = pick[0].selectbox("True digit (row)", list(range(10)), index=t0, key="ev_true", bind=links.BIND)
    predicted = pick[1].selectbox("Answered (column)", list(range(10)), index=p0, key="ev_pred", bind=links.BIND)
    show_chart(model_charts.confusion(cm, height=370 if big else 400, selected=(true, predicted)),
               key=view.CHART_KEY, name="confusion matrix", on_select=view.select_clicked_cell,
               selection_mode="points")
with left:
    table_download(view.cell_rows(report), "confusion matrix", key="ev_confusion_csv")
with right:
    if big:
        st.markdown(summary)
    st.markdown(f"**Accuracy per digit** (dashed line: all digits, {visual.percent(report['accuracy'], 2)})")
    show_chart(model_charts.per_class(report["per_class"], height=240, overall=report["accuracy"]),
               key="ev_per_class", name="accuracy per digit")
    count = int(cm[true][predicted])
    verdict = "correct answers" if true == predicted else "mistakes"
    st.markdown(f"**True {true}, answered {predicted}:** {count:,} {verdict}")
    if probs is not None:
        examples = (least_confident_correct(probs, labels, true, limit=12) if true == predicted
                    else cell_examples(probs, labels, true, predicted, limit=12))
    else:  # offline: the mistakes recorded with the checkpoint, with their pixels where it stored them
        examples = [m for m in report.get("misclassified", []) if m["true"] == true and m["predicted"] == predicted
                    and "pixels" in m][:12]
    if not examples:
        st.caption("No digits in this cell." if count == 0 else "No recorded examples of this cell.")
    else:
        note = view.examples_caption(true, predicted, len(examples), count)
        if note:
            st.caption(note)
        pictures = [digit_image(scale_pixels(test.raw[m["index"]] if probs is not None
                                             else pixels_from_text(m["pixels"])), size=size) for m in examples]
        per_row = 4
        for start in range(0, len(examples), per_row):
            cells = st.columns(per_row)
            for col, m, picture in zip(cells, examples[start:start + per_row], pictures[start:start + per_row]):
                col.image(picture, width=size)
                col.caption(f"#{m['index']} · {view.top3_text(m['top3'])}")
                if test is not None and col.button("Inspect", key=f"ev_open_{m['index']}", type="tertiary",
                                                   icon=":material/open_in_new:",
                                                   help=f"Open test digit #{m['index']} on the Draw page, in the "
                                                        "unit inspector"):
                    view.open_in_draw(m["index"])
        image_download(tile(pictures, per_row), f"true {true} answered {predicted}", key="ev_digits_png")
        if test is None:
            st.caption("With MNIST on this machine, each digit also opens on the Draw page, in the inspector.")
