package httpapi

func (s *Server) costRoutes() {}
