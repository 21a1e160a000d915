package enum OpenSearchStandInPlaceholder {}
