import streamlit as st

st.title("filters")
st.info("This page is being built.")
