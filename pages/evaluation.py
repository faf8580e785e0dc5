"""How good is the active model on the 10,000 test digits, and which digits does it get wrong?"""
import numpy as np
import streamlit as st

from cnnviz.data import scale_pixels
from cnnviz.evaluate import cell_examples, largest_mistake, pixels_from_text, summarize
from cnnviz_ui import links, model_charts
from cnnviz_ui.export import image_download, tile
from cnnviz_ui.eval_view import test_probabilities, top3_text
from cnnviz_ui.images import digit_image
from cnnviz_ui.models import active_model, shipped_model
from cnnviz_ui.shell import lecture_mode, prose, show_chart
from cnnviz_ui.digits import test_split
from cnnviz_ui.mnist_gate import require_mnist

st.title("Evaluation")
prose("The test set holds 10,000 digits the network never saw during training. The confusion matrix counts, "
      "for every true digit (row), what the network answered (column): the diagonal holds the correct answers, "
      "everything else is a mistake. Pick a cell to see the digits behind it.")

loaded = active_model()
is_shipped = loaded is shipped_model(loaded.head)
st.caption(f"Model: {loaded.source}")
test, missing = test_split()
size = 84 if lecture_mode() else 70

if test is not None:
    probs = test_probabilities(loaded, test, is_shipped)
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
top = st.columns(3)
top[0].metric("Test accuracy", f"{report['accuracy']:.2%}")
top[1].metric("Correct", f"{report['correct']:,} of {report['total']:,}")
top[2].metric("Mistakes", f"{report['total'] - report['correct']:,}")

left, right = st.columns([1.1, 1], gap="large")
with left:
    st.markdown("**Confusion matrix** (rows: true digit, columns: the model's answer)")
    t0, p0 = largest_mistake(cm)
    pick = st.columns(2)
    true = pick[0].selectbox("True digit", list(range(10)), index=t0, key="ev_true",
                               bind=links.BIND)
    predicted = pick[1].selectbox("Predicted digit", list(range(10)), index=p0, key="ev_pred",
                                    bind=links.BIND)
    show_chart(model_charts.confusion(cm, height=440 if lecture_mode() else 400, selected=(true, predicted)),
               key="ev_confusion", name="confusion matrix", scale_text=False)
with right:
    st.markdown("**Accuracy per digit**")
    show_chart(model_charts.per_class(report["per_class"], height=260), key="ev_per_class",
               name="accuracy per digit")
    count = int(cm[true][predicted])
    verdict = "correct answers" if true == predicted else "mistakes"
    st.markdown(f"**True {true}, answered {predicted}:** {count:,} {verdict}")
    if probs is not None:
        examples = cell_examples(probs, labels, true, predicted, limit=12)
    else:  # offline: the mistakes recorded with the checkpoint, with their pixels where it stored them
        examples = [m for m in report.get("misclassified", []) if m["true"] == true and m["predicted"] == predicted
                    and "pixels" in m][:12]
    if not examples:
        st.caption("No digits in this cell." if count == 0 else "No recorded examples of this cell.")
    else:
        if len(examples) < count:
            st.caption(f"The {len(examples)} the model was surest about:")
        pictures = [digit_image(scale_pixels(test.raw[m["index"]] if probs is not None
                                             else pixels_from_text(m["pixels"])), size=size) for m in examples]
        per_row = 4
        for start in range(0, len(examples), per_row):
            cells = st.columns(per_row)
            for col, m, picture in zip(cells, examples[start:start + per_row], pictures[start:start + per_row]):
                col.image(picture, width=size)
                col.caption(f"#{m['index']} · {top3_text(m['top3'])}")
        image_download(tile(pictures, per_row), f"true {true} answered {predicted}", key="ev_digits_png")
