"""The architecture: every layer's shape and parameters, read from the loaded model itself."""
import streamlit as st

from cnnviz.architecture import head_tables, layer_table, model_input_shape
from cnnviz.model import count_parameters
from cnnviz.pooling import pooled_shape
from cnnviz_ui import architecture_view as view, charts, links, visual
from cnnviz_ui.export import table_download
from cnnviz_ui.models import active_model, show_which_model
from cnnviz_ui.quiz import quick_check
from cnnviz_ui.shell import prose, show_chart

loaded = active_model()
model = loaded.model
config = getattr(model, "config", None)
input_shape = model_input_shape(model)
rows = layer_table(model)
total = count_parameters(model)

st.title("Architecture")
show_which_model(loaded, "arch")
prose(view.story(rows, input_shape))

# ---- the flow of shapes, and one layer in detail -----------------------------------------------------------
names, kinds, shapes = view.flow(rows, input_shape)
selected = st.segmented_control("Layer", names[1:], default=names[1], key="arch_layer", required=True,
                                bind=links.BIND)
show_chart(charts.shape_flow(names, kinds, shapes, selected=selected), key="arch_flow", height=240)
row = next(r for r in rows if r.name == selected)
c_what, c_numbers = st.columns([3, 2])
c_what.markdown(f"#### {row.name}: `{row.op}`\n\n{view.ROLES.get(row.kind, row.kind)}")
before = shapes[names.index(selected) - 1]
c_numbers.metric("Shape", " × ".join(map(str, row.output_shape)), help="Without the batch dimension.")
c_numbers.markdown(f"from `{' × '.join(map(str, before))}`  \nParameters: **{row.arithmetic}** "
                   f"({visual.percent(row.share)} of the total)")

# ---- the table ------------------------------------------------------------------------------------------------
st.subheader(f"Every layer: {total:,} parameters")
records = view.table_records(rows, input_shape)
st.table(records, hide_index=True)
table_download(records, f"{type(model).__name__} layers", key="arch_csv")

# ---- where the parameters live: FC head vs GAP head ---------------------------------------------------------
try:
    variants = head_tables(config) if config is not None else None
except ValueError:  # a design that cannot take the other head: its own table above says it all
    variants = None
if variants is not None:
    st.subheader("Where the parameters live")
    cols = st.columns(2)
    heads = (("fc", "Flatten + fully connected head"), ("gap", "Global average pooling head"))
    for col, (head, title) in zip(cols, heads):
        table = variants[head]
        with col:
            show_chart(charts.parameter_share([r.name for r in table], [r.params for r in table],
                                              title=f"{title}: {sum(r.params for r in table):,}"),
                       key=f"arch_share_{head}", height=280)
    prose(view.parameters_story(variants["fc"]))

# ---- the code, and two quick checks -------------------------------------------------------------------------
with st.expander(f"The model's source code ({type(model).__module__})", expanded=False):
    st.code(view.model_source(model), language="python")

st.subheader("Quick checks")
c_pool, c_soft = st.columns(2)
with c_pool:
    shape = (8, 32, 14, 14)
    right = str(list(pooled_shape(shape, 2, 2, 0)))
    quick_check(view.POOL_QUESTION, [str([8, 32, 14, 14]), str([4, 16, 7, 7]), right, str([8, 16, 7, 7])], right,
                "Pooling works on each channel separately and leaves the batch alone, so only the last two sides "
                "change: ⌊(14 − 2) / 2⌋ + 1 = 7.",
                "Which of the four numbers does a 2×2 window with stride 2 touch, and which does it leave alone?",
                key="arch_q_pool")
with c_soft:
    right = next(option for option, correct in view.SOFTMAX_OPTIONS.items() if correct)
    quick_check(view.SOFTMAX_QUESTION, list(view.SOFTMAX_OPTIONS), right, view.SOFTMAX_EXPLANATION,
                "Think about what the loss function receives, and whether softmax can change which score is largest.",
                key="arch_q_softmax")
