"""Why this answer? (being built): attributions, honesty checks, attacks and the network's map of digits."""
import streamlit as st

st.title("Why this answer?")
st.info("This page is being built.")
