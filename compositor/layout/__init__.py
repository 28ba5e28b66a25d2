"""The layout file, first stage of the flow: typed models, YAML reading with every error
located, checks across fields, did-you-mean hints, validation, the wall's geometry.
"""
