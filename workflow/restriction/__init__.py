"""Residence restriction (cấm đi khỏi nơi cư trú), the third measure of Law 128/2025/QH15: its
episodes, their events, deadlines and lifecycle, kept by the commune police that manage them."""
