import streamlit as st

st.title("activation_functions")
st.info("This page is being built.")
