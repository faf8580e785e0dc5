"""Two classifier heads side by side, and where the GAP model looks: its class activation map."""
import streamlit as st

from cnnviz.architecture import layer_table
from cnnviz.cam import class_activation_map
from cnnviz.evaluate import predict
from cnnviz.model import count_parameters
from cnnviz_ui import model_charts
from cnnviz_ui.export import image_download, table_download, tile
from cnnviz_ui import gap_view as view
from cnnviz_ui.current_digit import current_digit
from cnnviz_ui.images import digit_image, feature_grid
from cnnviz_ui.models import active_model, shipped_model
from cnnviz_ui.shell import lecture_mode, prose, show_chart

st.title("Global average pooling and class activation maps")
prose("In the fully connected (FC) model almost all parameters sit in one layer: FC1 connects every one of the "
      "32×7×7 = 1,568 numbers of the last feature maps to 128 hidden units. Global average pooling (GAP) "
      "replaces Flatten and FC1 by one step with no parameters at all: it averages each of the 32 maps into a "
      "single number. A small linear layer then turns those 32 averages into 10 class scores.")

heads = {"FC head": shipped_model("fc"), "GAP head": shipped_model("gap")}
tables = {label: layer_table(loaded.model) for label, loaded in heads.items()}
columns = st.columns(2, gap="large")
for (label, loaded), col in zip(heads.items(), columns):
    rows = tables[label]
    total = count_parameters(loaded.model)
    head_rows = [r for r in rows if r.params and r.kind == "Linear"]
    with col:
        st.markdown(f"### {label}")
        acc = loaded.test_accuracy
        a, b = st.columns(2)
        a.metric("Parameters", f"{total:,}")
        b.metric("Test accuracy", f"{acc:.2%}" if acc is not None else "n/a",
                 help=None if acc is not None else f"No accuracy recorded: {loaded.source}")
        st.caption(f"{loaded.source}")
        records = [{"layer": r.name, "operation": r.op, "output": "×".join(map(str, r.output_shape)),
                    "parameters": f"{r.params:,}", "share": f"{r.share:.1%}"} for r in rows if r.params]
        st.table(records, hide_index=True)  # a static table wraps its text: nothing is cut off at 1280 px
        table_download(records, f"{label} parameters", key=f"gap_csv_{label}")
        st.caption(" + ".join(f"{r.name}: {r.arithmetic}" for r in head_rows))

per_layer = {label: {r.name: r.params for r in rows if r.params} for label, rows in tables.items()}
show_chart(model_charts.parameter_split(per_layer, height=260 if lecture_mode() else 220),
           key="gap_param_split", name="parameters per head")
fc_total, gap_total = (count_parameters(h.model) for h in heads.values())
prose(f"The GAP model has {gap_total:,} parameters against {fc_total:,}: about {fc_total / max(gap_total, 1):.0f} "
      "times fewer, and the head no longer grows with the image size, because an average of a 7×7 map and of a "
      "70×70 map are both one number. The price is that each channel must itself become a detector of something "
      "class-specific, which is exactly what makes the next picture possible.")

st.subheader("Where does the GAP model look?")
prose("Because the GAP head is linear in the channel averages, each class score is a weighted sum of the 32 "
      "last feature maps, averaged over space. Doing the weighted sum *before* averaging gives a 7×7 map, the "
      "class activation map (CAM): the places in the image that add evidence for that class. Its average is "
      "exactly the class score minus the bias.")
gap = active_model() if active_model().head == "gap" else heads["GAP head"]
digit = current_digit()
probs = predict(gap.model, digit.x)[0]                   # [num_classes]
predicted = int(probs.argmax())
c = st.selectbox("Class to explain", list(range(probs.numel())), index=predicted, key="gap_class",
                 format_func=lambda k: f"{k} ({probs[k]:.1%})" + (" · predicted" if k == predicted else ""))
cam = class_activation_map(gap.model, digit.x, c)
size = 224 if lecture_mode() else 196
show = st.columns([1, 1, 1.3])
pictures = [digit_image(digit.image28, size=size), digit_image(digit.image28, size=size, overlay=cam.upsampled.numpy()),
            feature_grid(cam.cam.numpy()[None], cols=1, cell=size, labels=False)]
show[0].image(pictures[0], caption=f"input: {digit.source}", width=size)
show[1].image(pictures[1], caption=f"CAM for {c} over the input", width=size)
show[2].image(pictures[2], caption=f"the 7×7 CAM: its mean {view.signed(float(cam.cam.mean()))} is the logit "
              f"{view.signed(cam.logit)} minus the bias {view.signed(cam.bias)}", width="stretch")
image_download(tile(pictures, 3), f"cam for {c}", key="gap_cam_png")
st.caption(f"GAP model: {gap.source}. Draw a digit on the *Draw a digit* page to explain your own.")
