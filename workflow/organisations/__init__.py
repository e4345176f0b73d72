"""The organisation tree of both branches and the outside bodies (Decree 121/2017 Arts. 7–8), with
dated parent links (the 2025 reform re-parented facilities), and management scope: which
facilities a body manages on a day (Art. 12 §3a)."""
