output "host" {
  description = "Address to SSH to: the public IPv4 address when associate_public_ip, else the private one."
  value       = var.associate_public_ip ? aws_instance.box.public_ip : aws_instance.box.private_ip
}

output "port" {
  value = var.ssh_port
}

output "user" {
  value = var.ssh_user
}

output "instance_id" {
  value = aws_instance.box.id
}
