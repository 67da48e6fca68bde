package scenarios

// DetectionObjective is the objective that measures detection: the first
// detect objective, else the first rootCause one, else "".
func (s *Scenario) DetectionObjective() string {
	for _, cat := range []string{CategoryDetect, CategoryRootCause} {
		for _, o := range s.Spec.Objectives {
			if o.Category == cat {
				return o.ID
			}
		}
	}
	return ""
}
