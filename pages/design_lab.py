"""Design lab (being built): build your own CNN from the chapter's design decisions."""
import streamlit as st

st.title("Design lab")
st.info("This page is being built.")
