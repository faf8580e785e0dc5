"""cnnviz core: the chapter's CNN and the from-scratch pieces the app teaches. No Streamlit here."""
