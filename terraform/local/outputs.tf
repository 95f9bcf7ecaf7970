output "host" {
  value = "127.0.0.1"
}

output "port" {
  value = var.ssh_port
}

output "user" {
  value = var.ssh_user
}

output "instance_id" {
  value = "local-${terraform_data.box.id}"
}
