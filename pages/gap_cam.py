import streamlit as st

st.title("gap_cam")
st.info("This page is being built.")
