package enum RuntimeAPIStandInPlaceholder {}
