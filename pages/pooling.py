import streamlit as st

st.title("pooling")
st.info("This page is being built.")
