package hitron

// This file reads system_model.asp: the model name and vendor.

// ModelInfo is system_model.asp.
type ModelInfo struct {
	ModelName string
	Vendor    string
}

// modelJSON is the page's JSON shape (only the fields read).
type modelJSON struct {
	ModelName  flex `json:"modelName"`
	VendorName flex `json:"vendorname"`
}

// parseModelPage reads the page into d.
func parseModelPage(d *Data, body []byte, maxRows int) error {
	r, err := firstRow[modelJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.Model = &ModelInfo{ModelName: r.ModelName.String(), Vendor: r.VendorName.String()}
	return nil
}
